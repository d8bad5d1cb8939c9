"""UPnP AVTransport: the transport (URI, play, pause, seek, queue position) and playback.

Handlers run on HTTP handler threads; `fetch_and_play` runs on the speaker's
`fake-<name>-play` thread, fetching a clip like a real player and ending it after its
(scaled) duration. Grouping actions live in `topology`.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from testkit.fakes.fetch import fetch_and_decode
from testkit.fakes.speaker.state import Action, PlayRecord, TransportState, format_time, parse_time
from testkit.fakes.upnp import SoapFaultError

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from testkit.fakes.speaker.device import FakeSpeaker


# AVTransport
def require_coordinator(speaker: FakeSpeaker) -> None:
    if not speaker.is_coordinator:
        # What a group member answers to transport control: only its coordinator plays.
        raise SoapFaultError(800, "not the group coordinator")


def position_locked(speaker: FakeSpeaker) -> float:
    transport = speaker.transport
    if transport.state == "PLAYING":
        return transport.position + (time.monotonic() - transport.since) / speaker.speed
    return transport.position


def set_av_transport_uri(speaker: FakeSpeaker, args: dict[str, str]) -> dict[str, str]:
    require_coordinator(speaker)
    uri = args.get("CurrentURI", "")
    with speaker.lock:
        generation = speaker.transport.generation + 1
        speaker.transport = TransportState(
            uri=uri,
            metadata=args.get("CurrentURIMetaData", ""),
            generation=generation,
            play_mode=speaker.transport.play_mode,
        )
        speaker.notify_locked()
    return {}


def play(speaker: FakeSpeaker, _args: dict[str, str]) -> dict[str, str]:
    require_coordinator(speaker)
    with speaker.lock:
        transport = speaker.transport
        if not transport.uri:
            raise SoapFaultError(701, "no media")
        if transport.state == "PLAYING":
            return {}
        transport.generation += 1
        generation = transport.generation
        if transport.uri.startswith(("http://", "https://")) and transport.position == 0:
            transport.state = "TRANSITIONING"
            record = PlayRecord(transport.uri, time.monotonic(), speaker.volume, speaker.muted)
            speaker.plays.append(record)
            threading.Thread(
                target=fetch_and_play,
                args=(speaker, record, generation),
                name=f"fake-{speaker.name}-play",
                daemon=True,
            ).start()
        else:
            transport.state = "PLAYING"
            transport.since = time.monotonic()
        speaker.notify_locked()
    return {}


def pause(speaker: FakeSpeaker, _args: dict[str, str]) -> dict[str, str]:
    require_coordinator(speaker)
    with speaker.lock:
        speaker.transport.position = position_locked(speaker)
        speaker.transport.state = "PAUSED_PLAYBACK"
        speaker.transport.generation += 1
        speaker.notify_locked()
    return {}


def stop(speaker: FakeSpeaker, _args: dict[str, str]) -> dict[str, str]:
    require_coordinator(speaker)
    with speaker.lock:
        speaker.transport.position = 0.0
        speaker.transport.state = "STOPPED"
        speaker.transport.generation += 1
        speaker.notify_locked()
    return {}


def seek(speaker: FakeSpeaker, args: dict[str, str]) -> dict[str, str]:
    require_coordinator(speaker)
    unit, target = args.get("Unit", ""), args.get("Target", "")
    with speaker.lock:
        if unit == "TRACK_NR":
            number = int(target)
            if not speaker.transport.uri.startswith("x-rincon-queue:") or not (
                1 <= number <= len(speaker.queue)
            ):
                raise SoapFaultError(711, "illegal seek target")
            speaker.transport.track = number
            speaker.transport.position = 0.0
        elif unit == "REL_TIME":
            speaker.transport.position = parse_time(target)
            speaker.transport.since = time.monotonic()
        else:
            raise SoapFaultError(710, "seek mode not supported")
        speaker.notify_locked()
    return {}


def get_transport_info(speaker: FakeSpeaker, _args: dict[str, str]) -> dict[str, str]:
    with speaker.lock:
        state = speaker.coordinator.transport.state
    return {"CurrentTransportState": state, "CurrentTransportStatus": "OK", "CurrentSpeed": "1"}


def get_position_info(speaker: FakeSpeaker, _args: dict[str, str]) -> dict[str, str]:
    with speaker.lock:
        transport = speaker.transport
        uri, duration, metadata = transport.uri, 0.0, ""
        if transport.uri.startswith("x-rincon-queue:") and speaker.queue:
            item = speaker.queue[transport.track - 1]
            uri, duration, metadata = item.uri, item.duration, item.metadata
        elif transport.uri.startswith(("http://", "https://")):
            duration = transport.clip_duration
        position = position_locked(speaker)
        return {
            "Track": str(transport.track if transport.uri else 0),
            "TrackDuration": format_time(duration),
            "TrackMetaData": metadata,
            "TrackURI": uri,
            "RelTime": format_time(position),
            "AbsTime": "NOT_IMPLEMENTED",
            "RelCount": "2147483647",
            "AbsCount": "2147483647",
        }


def get_media_info(speaker: FakeSpeaker, _args: dict[str, str]) -> dict[str, str]:
    with speaker.lock:
        transport = speaker.transport
        count = len(speaker.queue) if transport.uri.startswith("x-rincon-queue:") else 1
        return {
            "NrTracks": str(count if transport.uri else 0),
            "MediaDuration": "NOT_IMPLEMENTED",
            "CurrentURI": transport.uri,
            "CurrentURIMetaData": transport.metadata,
            "NextURI": "",
            "NextURIMetaData": "",
            "PlayMedium": "NETWORK",
            "RecordMedium": "NOT_IMPLEMENTED",
            "WriteStatus": "NOT_IMPLEMENTED",
        }


def get_transport_settings(speaker: FakeSpeaker, _args: dict[str, str]) -> dict[str, str]:
    return {"PlayMode": speaker.transport.play_mode, "RecQualityMode": "NOT_IMPLEMENTED"}


def set_play_mode(speaker: FakeSpeaker, args: dict[str, str]) -> dict[str, str]:
    speaker.transport.play_mode = args.get("NewPlayMode", "NORMAL")
    return {}


def get_current_transport_actions(speaker: FakeSpeaker, _args: dict[str, str]) -> dict[str, str]:
    return {"Actions": "Set, Stop, Pause, Play, Seek, Next, Previous"}


# ---------------------------------------------------------- playback
# ---------------------------------------------------------- playback
def fetch_and_play(speaker: FakeSpeaker, record: PlayRecord, generation: int) -> None:
    """Fetch the clip like a player, then play for its (scaled) duration."""
    fetched = fetch_and_decode(record.url)
    record.status, record.size, record.error = fetched.status, fetched.size, fetched.error
    record.duration = fetched.duration
    record.ok = fetched.ok and fetched.size > 0
    logger.info(
        "%s fetched %s: %s",
        speaker.name,
        record.url,
        f"{record.size} bytes, {record.duration:.2f} s of {fetched.kind}"
        if record.ok
        else record.error,
    )
    with speaker.lock:
        if speaker.transport.generation != generation:
            record.finished = True
            speaker.notify_locked()
            return
        if not record.ok:
            speaker.transport.state = "STOPPED"
            record.finished = True
            speaker.notify_locked()
            return
        speaker.transport.state = "PLAYING"
        speaker.transport.since = time.monotonic()
        speaker.transport.clip_duration = record.duration
        speaker.notify_locked()
    speaker.closing.wait(record.duration * speaker.speed)
    with speaker.lock:
        if speaker.transport.generation == generation:
            speaker.transport.state = "STOPPED"
            speaker.transport.position = 0.0
        record.finished = True
        record.finished_at = time.monotonic()
        speaker.notify_locked()


AV_TRANSPORT: dict[str, Action] = {
    "SetAVTransportURI": set_av_transport_uri,
    "Play": play,
    "Pause": pause,
    "Stop": stop,
    "Seek": seek,
    "GetTransportInfo": get_transport_info,
    "GetPositionInfo": get_position_info,
    "GetMediaInfo": get_media_info,
    "GetTransportSettings": get_transport_settings,
    "SetPlayMode": set_play_mode,
    "GetCurrentTransportActions": get_current_transport_actions,
}
