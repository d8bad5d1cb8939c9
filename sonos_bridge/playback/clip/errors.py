"""Why an audio clip did not play, split by what the caller must do next.

`ClipUnavailableError`: nothing was heard, so playing the announcement the takeover way
(snapshot, play, restore) is right. `ClipPlaybackError`: the clip started, or may still
start, so a second play would repeat it: the request fails with the reason instead.
Every message reads as the end of "<speaker>: ..." in a log line or a result's `error`.
"""

from __future__ import annotations

from sonos_bridge.errors import SpeakerError
from sonos_bridge.playback.clip.error_kinds import ErrorKind, explain, kind_of


class ClipError(SpeakerError):
    """Base of every audio-clip failure."""


class ClipUnavailableError(ClipError):
    """Clips cannot be used on this speaker now; fall back to takeover."""


class S2UnreachableError(ClipUnavailableError):
    """Port 1443 does not answer or speak TLS/WebSocket: an S1 speaker, or a firewall."""


class S2SilentError(S2UnreachableError):
    """Port 1443 took the connection (or dropped it silently) but never answered in time."""


class S2KeyRefusedError(ClipUnavailableError):
    """The speaker refused the WebSocket handshake (API key or subprotocol)."""


class S2CommandError(ClipUnavailableError):
    """The speaker answered a command with `globalError` (seen after firmware updates)."""

    def __init__(self, command: str, error_code: str) -> None:
        super().__init__(f"{command} was refused with {explain(error_code)}")
        self.command = command
        self.error_code = error_code

    @property
    def transient(self) -> bool:
        """A refusal that describes the moment: clips stay on for the next announcement."""
        return kind_of(self.error_code) is ErrorKind.TRANSIENT


class NoClipSupportError(ClipUnavailableError):
    """The probe found no AUDIO_CLIP capability, a denied model or a stereo pair."""


class ProbePendingError(NoClipSupportError):
    """The speaker's capability probe has not answered yet: this announcement takes over."""


class ClipLoadError(ClipUnavailableError):
    """The speaker accepted the clip, then reported ERROR before playing any of it."""

    def __init__(self, error_code: str) -> None:
        super().__init__(f"the clip failed before it started ({explain(error_code)})")
        self.error_code = error_code

    @property
    def transient(self) -> bool:
        return kind_of(self.error_code) is ErrorKind.TRANSIENT


class S2ConnectionLostError(ClipUnavailableError):
    """The WebSocket closed before the clip started."""


class S2NoAnswerError(ClipUnavailableError):
    """The speaker did not answer a command in time."""


class ClipPlaybackError(ClipError):
    """The clip started (or may yet start) and did not finish: report, do not replay."""


class ClipTimeoutError(ClipPlaybackError):
    """No final status within the clip's length plus the margin."""
