"""The UPnP services a speaker offers: their action specs (the SCPD documents SoCo reads),
control paths, and the handler of every action (from the service modules).
"""

from __future__ import annotations

from testkit.fakes.speaker import av_transport, rendering_control, topology
from testkit.fakes.speaker.state import Action
from testkit.fakes.upnp import ActionSpec, scpd

_IN = "InstanceID"
SERVICES: dict[str, list[ActionSpec]] = {
    "DeviceProperties": [
        ActionSpec("GetHouseholdID", (), ("CurrentHouseholdID",)),
        ActionSpec(
            "GetZoneAttributes",
            (),
            ("CurrentZoneName", "CurrentIcon", "CurrentConfiguration"),
        ),
    ],
    "ZoneGroupTopology": [
        ActionSpec("GetZoneGroupState", (), ("ZoneGroupState",)),
        ActionSpec(
            "GetZoneGroupAttributes",
            (),
            ("CurrentZoneGroupName", "CurrentZoneGroupID", "CurrentZonePlayerUUIDsInGroup"),
        ),
    ],
    "RenderingControl": [
        ActionSpec("GetVolume", (_IN, "Channel"), ("CurrentVolume",)),
        ActionSpec("SetVolume", (_IN, "Channel", "DesiredVolume"), ()),
        ActionSpec("GetMute", (_IN, "Channel"), ("CurrentMute",)),
        ActionSpec("SetMute", (_IN, "Channel", "DesiredMute"), ()),
        ActionSpec("GetBass", (_IN,), ("CurrentBass",)),
        ActionSpec("SetBass", (_IN, "DesiredBass"), ()),
        ActionSpec("GetTreble", (_IN,), ("CurrentTreble",)),
        ActionSpec("SetTreble", (_IN, "DesiredTreble"), ()),
        ActionSpec("GetLoudness", (_IN, "Channel"), ("CurrentLoudness",)),
        ActionSpec("SetLoudness", (_IN, "Channel", "DesiredLoudness"), ()),
        ActionSpec("GetSupportsOutputFixed", (_IN,), ("CurrentSupportsFixed",)),
    ],
    "AVTransport": [
        ActionSpec("SetAVTransportURI", (_IN, "CurrentURI", "CurrentURIMetaData"), ()),
        ActionSpec("Play", (_IN, "Speed"), ()),
        ActionSpec("Pause", (_IN,), ()),
        ActionSpec("Stop", (_IN,), ()),
        ActionSpec("Seek", (_IN, "Unit", "Target"), ()),
        ActionSpec(
            "GetTransportInfo",
            (_IN,),
            ("CurrentTransportState", "CurrentTransportStatus", "CurrentSpeed"),
        ),
        ActionSpec(
            "GetPositionInfo",
            (_IN,),
            (
                "Track",
                "TrackDuration",
                "TrackMetaData",
                "TrackURI",
                "RelTime",
                "AbsTime",
                "RelCount",
                "AbsCount",
            ),
        ),
        ActionSpec(
            "GetMediaInfo",
            (_IN,),
            (
                "NrTracks",
                "MediaDuration",
                "CurrentURI",
                "CurrentURIMetaData",
                "NextURI",
                "NextURIMetaData",
                "PlayMedium",
                "RecordMedium",
                "WriteStatus",
            ),
        ),
        ActionSpec("GetTransportSettings", (_IN,), ("PlayMode", "RecQualityMode")),
        ActionSpec("SetPlayMode", (_IN, "NewPlayMode"), ()),
        ActionSpec("GetCurrentTransportActions", (_IN,), ("Actions",)),
        ActionSpec("BecomeCoordinatorOfStandaloneGroup", (_IN,), ()),
    ],
}
SERVICE_PATHS = {
    "/DeviceProperties/Control": "DeviceProperties",
    "/ZoneGroupTopology/Control": "ZoneGroupTopology",
    "/MediaRenderer/RenderingControl/Control": "RenderingControl",
    "/MediaRenderer/AVTransport/Control": "AVTransport",
}
SCPD_DOCUMENTS = {f"/xml/{name}1.xml": scpd(actions) for name, actions in SERVICES.items()}

ACTIONS: dict[str, dict[str, Action]] = {
    "DeviceProperties": topology.DEVICE_PROPERTIES,
    "ZoneGroupTopology": topology.ZONE_GROUP_TOPOLOGY,
    "RenderingControl": rendering_control.RENDERING_CONTROL,
    "AVTransport": {**av_transport.AV_TRANSPORT, **topology.AV_TRANSPORT_GROUPING},
}
