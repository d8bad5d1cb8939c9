"""Typed exceptions of the bridge; each message is what the user reads in `error`.

Every failure a request can meet has its own class so callers can tell a bad request
(answered at once) from a speaker or engine problem (answered after trying).
"""

from __future__ import annotations


class BridgeError(Exception):
    """Base class for errors the bridge raises on purpose; str() is user-facing."""


class RequestError(BridgeError):
    """The request itself is unusable (bad JSON, empty text, bad volume, ...)."""


class UnknownSpeakerError(RequestError):
    """No known speaker has the requested name."""


class UnknownLanguageError(RequestError):
    """No configured TTS engine can speak the requested language."""


class UnknownVoiceError(RequestError):
    """The request names a voice no engine has, or one that speaks another language."""


class SpeechError(BridgeError):
    """Every configured TTS engine failed for this text."""


class EngineError(BridgeError):
    """One TTS engine failed; the next one is tried and this one rests a while."""


class UnspeakableTextError(EngineError):
    """The engine works but cannot say this text; the next engine is tried, none rests."""


class VoiceUnusableError(EngineError):
    """One voice of the engine cannot be loaded; the engine's other voices still work."""


class SpeakerError(BridgeError):
    """A speaker did not answer or answered an error."""


class SpeakerUnreachableError(SpeakerError):
    """A speaker cannot be reached at all: it is off, or off the network."""


class SpeakerTimeoutError(SpeakerUnreachableError):
    """A speaker did not answer within SONOS_TIMEOUT."""


class CutShortError(BridgeError):
    """The bridge stopped before the announcement finished (SONOS_STOP_GRACE ran out)."""


class StartupError(BridgeError):
    """A component cannot start with the given settings (port in use, unwritable cache)."""
