"""Typed exceptions of the idle reporter.

Two kinds of source failure need different treatment: a source that *cannot* work here
(no bus, no extension, no devices) is skipped once with its reason, while a source that
worked and *stopped answering* is retried and, after a grace period, reported `unknown`.
"""

from __future__ import annotations


class IdleReporterError(Exception):
    """Base class for every error the idle reporter raises on purpose."""


class SourceUnavailableError(IdleReporterError):
    """The source cannot work on this machine; the message says why, for one log line."""


class SourceReadError(IdleReporterError):
    """The source worked but did not answer this time (service gone, bus closed)."""


class CommandError(IdleReporterError):
    """A command on `<base>/<host>/command` could not be carried out."""
