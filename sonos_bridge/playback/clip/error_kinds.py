"""Whether a clip error code says "not now" or "not on this speaker".

A speaker refuses a clip with an error code, either in the `globalError` answer to
`loadAudioClip` or as the clip's ERROR status before it went ACTIVE. Some codes describe
the moment: its voice assistant is speaking, pausing the music for the clip failed, do not
disturb is on, the clip expired while it waited, this clip's file could not be played.
Then this announcement is taken over and clips stay on for the next one. The others
describe the speaker or the bridge's ids (a refused key, a namespace or command the
firmware lacks, an id it does not know, Play:3's `ERROR_CORRUPT_FILE`): retrying them
would fail every announcement the same way, so clips stay off until the next refresh. A
code not listed here counts as lasting, as every code did before this split.

Pure data and functions: no I/O, no threads.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorKind(StrEnum):
    TRANSIENT = "transient"  # take this announcement over; clips stay on
    LASTING = "lasting"  # clips off for this speaker until the next refresh


# Codes that describe the moment, with what each means to a user reading the result.
TRANSIENT_CODES: dict[str, str] = {
    "ERROR_AUDIO_CLIP_VOICE_ASSISTANT_PLAYING": "its voice assistant was speaking",
    "ERROR_AUDIO_CLIP_PAUSE_CONTENT_FAILED": "it could not pause what it played",
    "ERROR_AUDIO_CLIP_DO_NOT_DISTURB": "do not disturb is on",
    "ERROR_AUDIO_CLIP_EXPIRE": "the clip expired before it could start",
    "ERROR_AUDIO_CLIP_EXPIRED": "the clip expired before it could start",
    "ERROR_AUDIO_CLIP_CANCEL": "the clip was cancelled before it started",
    "ERROR_AUDIO_CLIP_MEDIA_ERROR": "it could not fetch or play this clip's audio",
}

# Codes known to last; listed for their explanations (any unknown code lasts too).
LASTING_CODES: dict[str, str] = {
    "ERROR_API_KEY_VALIDATION_FAILED": "it refused the API key",
    "ERROR_NOT_AUTHORIZED": "it refused the request as not authorised",
    "ERROR_UNSUPPORTED_NAMESPACE": "its firmware has no audioClip API",
    "ERROR_UNSUPPORTED_COMMAND": "its firmware lacks the command",
    "ERROR_INVALID_OBJECT_ID": "it does not know the player or household id the bridge sent",
    "ERROR_NOT_CAPABLE": "it cannot play audio clips",
    "ERROR_CORRUPT_FILE": "it reports clips as corrupt (seen on Play:3, which then garbles "
    "the music)",
}


def kind_of(code: str | None) -> ErrorKind:
    return ErrorKind.TRANSIENT if code in TRANSIENT_CODES else ErrorKind.LASTING


def explain(code: str | None) -> str:
    """The code with what it means, e.g. for a result's `error`."""
    if not code:
        return "no error code"
    meaning = TRANSIENT_CODES.get(code) or LASTING_CODES.get(code)
    return f"{code}: {meaning}" if meaning else code
