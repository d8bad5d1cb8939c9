"""UPnP RenderingControl: volume, mute, bass, treble, loudness (called by HTTP handler threads)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from testkit.fakes.speaker.state import Action
from testkit.fakes.upnp import SoapFaultError

if TYPE_CHECKING:
    from testkit.fakes.speaker.device import FakeSpeaker


# RenderingControl
def get_volume(speaker: FakeSpeaker, _args: dict[str, str]) -> dict[str, str]:
    with speaker.lock:
        return {"CurrentVolume": str(speaker.volume)}


def set_volume(speaker: FakeSpeaker, args: dict[str, str]) -> dict[str, str]:
    try:
        volume = int(args.get("DesiredVolume", ""))
    except ValueError:
        raise SoapFaultError(402, "invalid volume") from None
    with speaker.lock:
        speaker.volume = max(0, min(100, volume))
        speaker.notify_locked()
    return {}


def get_mute(speaker: FakeSpeaker, _args: dict[str, str]) -> dict[str, str]:
    with speaker.lock:
        return {"CurrentMute": "1" if speaker.muted else "0"}


def set_mute(speaker: FakeSpeaker, args: dict[str, str]) -> dict[str, str]:
    with speaker.lock:
        speaker.muted = args.get("DesiredMute") in ("1", "true", "True")
        speaker.notify_locked()
    return {}


def get_bass(speaker: FakeSpeaker, _args: dict[str, str]) -> dict[str, str]:
    return {"CurrentBass": str(speaker.bass)}


def set_bass(speaker: FakeSpeaker, args: dict[str, str]) -> dict[str, str]:
    speaker.bass = int(args.get("DesiredBass", "0"))
    return {}


def get_treble(speaker: FakeSpeaker, _args: dict[str, str]) -> dict[str, str]:
    return {"CurrentTreble": str(speaker.treble)}


def set_treble(speaker: FakeSpeaker, args: dict[str, str]) -> dict[str, str]:
    speaker.treble = int(args.get("DesiredTreble", "0"))
    return {}


def get_loudness(speaker: FakeSpeaker, _args: dict[str, str]) -> dict[str, str]:
    return {"CurrentLoudness": "1" if speaker.loudness else "0"}


def set_loudness(speaker: FakeSpeaker, args: dict[str, str]) -> dict[str, str]:
    speaker.loudness = args.get("DesiredLoudness") == "1"
    return {}


def get_supports_output_fixed(speaker: FakeSpeaker, _args: dict[str, str]) -> dict[str, str]:
    return {"CurrentSupportsFixed": "0"}


RENDERING_CONTROL: dict[str, Action] = {
    "GetVolume": get_volume,
    "SetVolume": set_volume,
    "GetMute": get_mute,
    "SetMute": set_mute,
    "GetBass": get_bass,
    "SetBass": set_bass,
    "GetTreble": get_treble,
    "SetTreble": set_treble,
    "GetLoudness": get_loudness,
    "SetLoudness": set_loudness,
    "GetSupportsOutputFixed": get_supports_output_fixed,
}
