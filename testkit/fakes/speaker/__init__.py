"""A fake Sonos speaker that the real SoCo library drives over HTTP.

Each speaker listens on its own loopback address, port 1400 (SoCo fixes the port), and
keeps real state: volume, mute, the transport's URI and state, the queue position and
group membership. On `Play` of an http URI it fetches the clip in a thread like a real
player, checks that the bytes decode as MP3 or WAV, records what arrived, and reports STOPPED
once the clip's duration (scaled by `speed`) has elapsed, so a bridge must observe the
end through GetTransportInfo or AVTransport events exactly as with real hardware: a
subscriber (SUBSCRIBE with a CALLBACK) gets a NOTIFY on every transport change
(`testkit.fakes.events`).

A speaker made with an `S2Profile` also serves the S2 WebSocket API on the same address,
port 1443 (`testkit.fakes.s2`): audio clips mixed over whatever its transport plays, which
they never touch. The household's `getGroups` lists the S2 speakers in their UPnP groups.

A speaker answers SOAP calls in one write by default; `two_writes=True` (`--two-writes
NAME`) answers as Python's `http.server` does, headers and body in two writes with Nagle
on, which stalls a kept-alive client that delays its ACKs.

Standalone (for the Docker end-to-end tests, next to the compose stack):

    python -m testkit.fakes.speaker --speaker Kitchen=127.0.0.2 --speaker Office=127.0.0.3 \
        --group Kitchen,Office --speed 1 [--s2 Office]

Another process sees what a speaker did at `GET http://<ip>:1400/fake/state` (JSON: volume,
mute, URI, transport state, every fetch with its time and verdict, action counts, the
audio clips of an S2 speaker) and can start a radio stream with
`POST /fake/radio {"volume": 20}`. `POST /fake/vanish` takes the speaker off the network (it
answers nothing but `/fake/` until `POST /fake/return`).

Where things are:
- `topology`: households, groups, ZoneGroupState, the S2 `getGroups` body, grouping actions.
- `rendering_control`, `av_transport`: the UPnP services' actions (and playback of a clip);
  `services`: their specs (SCPD), control paths and the action table.
- `device`: `FakeSpeaker` (state, test controls, events, request routing).
- `server`: the HTTP server; `system`: `FakeSonosSystem`; `cli`: the command line.
- The S2 WebSocket endpoint is `testkit.fakes.s2`.
"""

from testkit.fakes.speaker.device import FakeSpeaker
from testkit.fakes.speaker.server import address_is_free, loopback_addresses
from testkit.fakes.speaker.state import (
    RADIO_META,
    RADIO_URI,
    SONOS_PORT,
    ActionRecord,
    PlayRecord,
    QueueTrack,
    TransportState,
)
from testkit.fakes.speaker.system import FakeSonosSystem
from testkit.fakes.speaker.topology import FakeHousehold

__all__ = [
    "RADIO_META",
    "RADIO_URI",
    "SONOS_PORT",
    "ActionRecord",
    "FakeHousehold",
    "FakeSonosSystem",
    "FakeSpeaker",
    "PlayRecord",
    "QueueTrack",
    "TransportState",
    "address_is_free",
    "loopback_addresses",
]
