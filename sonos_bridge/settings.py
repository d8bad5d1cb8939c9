"""The bridge's settings: the MQTT core's plus speakers, speech, audio server and cache.

Everything is read once at start; a bad value stops the service with one line naming
the variable (through `load_settings_or_exit`), never later in the middle of a request.
"""

from __future__ import annotations

from datetime import UTC, tzinfo
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_settings import NoDecode

from mqtt_service.config import MqttSettings
from sonos_bridge.request.house_rules import HouseRules, parse_room_volumes
from sonos_bridge.request.quiet_hours import QuietHours, TimeRange, parse_ranges
from sonos_bridge.request.sound_names import SOUND_NAME

KNOWN_ENGINES = ("piper", "gtts", "espeak")


class SonosSettings(MqttSettings):
    """Environment variables of the Sonos bridge (docs/configuration.md, "Sonos bridge")."""

    sonos_base_topic: str = Field(
        default="sonos",
        min_length=1,
        description=(
            "First level of the bridge's topics (sonos/tts, sonos/result, ...). The broker's "
            "ACL assumes `sonos`: change mosquitto/config/acl with it."
        ),
    )
    sonos_hosts: str = Field(
        default="",
        description=(
            "Speaker addresses, comma-separated (e.g. 192.168.1.20,192.168.1.21); the rest "
            "of the household is read from them. Empty: SSDP discovery on the bridge's network."
        ),
    )
    sonos_discovery_interface: str | None = Field(
        default=None,
        description="Local address SSDP discovery is sent from (a host with several networks).",
    )
    sonos_default_speaker: str | None = Field(
        default=None,
        description="Speaker for requests that name none (its room name in the Sonos app).",
    )
    sonos_default_volume: int | None = Field(
        default=None,
        ge=0,
        le=100,
        description=(
            "Announcement volume (0-100) when a request has none; empty: each speaker's "
            "current volume."
        ),
    )
    sonos_refresh_interval: float = Field(
        default=300.0,
        ge=5,
        le=86400,
        description=(
            "Seconds between re-reads of the speakers and their groups (also re-read at once "
            "after an unknown name)."
        ),
    )
    sonos_timeout: float = Field(
        default=5.0, gt=0, le=120, description="Seconds a speaker may take to answer one command."
    )
    sonos_play_margin: float = Field(
        default=10.0,
        ge=0,
        le=600,
        description="Seconds beyond a clip's length before the bridge stops waiting for its end.",
    )
    sonos_poll_interval: float = Field(
        default=0.25,
        ge=0.005,
        le=5,
        description=(
            "Seconds between transport-state checks (GetTransportInfo) while a takeover clip "
            "plays; a transport event ends the wait sooner (SONOS_EVENTS)."
        ),
    )
    sonos_events: bool = Field(
        default=True,
        description="Subscribe to each speaker's UPnP transport events to notice the end of "
        "an announcement at once (the music comes back within tens of milliseconds); the "
        "speakers must be able to connect to the bridge on SONOS_EVENT_PORT. Without events "
        "the bridge polls every SONOS_POLL_INTERVAL.",
    )
    sonos_event_port: int = Field(
        default=1400,
        ge=1,
        le=65535,
        description="TCP port on which the bridge receives the speakers' events (the next "
        "free port up to 100 higher if it is taken); open it to the speakers in a firewall. "
        "The bridge listens on ADVERTISE_HOST, or on the address that routes to the speakers.",
    )
    sonos_stuck_after: float = Field(
        default=900.0,
        ge=1,
        le=86400,
        description="Seconds one announcement may keep a speaker group's queue busy before "
        "the bridge counts as unhealthy (and, after HEALTH_RESTART_AFTER checks, restarts).",
    )
    sonos_stop_grace: float = Field(
        default=8.0,
        ge=0,
        le=600,
        description="Seconds an announcement playing when the bridge is stopped (docker "
        "compose stop or restart) may take to finish. One still playing then is cut short, "
        "the music comes back, and the request stays unanswered so the bridge plays it again "
        "after the restart. The restore and the goodbye to the broker follow within "
        "SONOS_TIMEOUT: keep the sum below Compose's stop_grace_period (15 s).",
    )
    tts_engines: str = Field(
        default="piper,gtts,espeak",
        description=(
            "Speech engines, comma-separated, in the order tried: piper (natural voice "
            "computed on this machine; left out in the slim image), gtts (Google, online, "
            "natural voice), espeak (espeak-ng, offline, robotic voice). A language an engine "
            "cannot speak goes to the next."
        ),
    )
    tts_lang: str = Field(
        default="en",
        min_length=1,
        description="Language of the speech when a request names none (en, de, fr, ...).",
    )
    tts_timeout: float = Field(
        default=10.0,
        gt=0,
        le=120,
        description=(
            "Seconds one engine may take before it counts as failed (gTTS: per network "
            "operation). An online engine is waited for only TTS_ONLINE_DEADLINE before the "
            "next one speaks."
        ),
    )
    tts_online_deadline: float = Field(
        default=1.5,
        ge=0,
        le=120,
        description=(
            "Seconds an online engine (gtts) may take before the next engine speaks instead; "
            "its clip still lands in the cache for next time. 0 never waits for it."
        ),
    )
    piper_voices_dir: Path | None = Field(
        default=None,
        description=(
            "Folder of extra Piper voices (NAME.onnx with its NAME.onnx.json), read at start; "
            "the voices the image ships are always there too. The image sets /voices."
        ),
    )
    piper_voice: str | None = Field(
        default=None,
        description=(
            "Preferred Piper voice for its language (file name without .onnx, e.g. "
            "en_US-joe-medium). Empty: each language uses its first voice."
        ),
    )
    piper_preload: bool = Field(
        default=True,
        description=(
            "Load the default Piper voice in the background at start, so the first "
            "announcement is as fast as the next (measured: about 125 MB more memory while "
            "idle, 181 MB instead of 55 MB). "
            "false: load it when it first speaks (that announcement waits 1-5 s for it)."
        ),
    )
    tts_max_chars: int = Field(
        default=1000,
        ge=1,
        le=100_000,
        description=(
            "Longest text accepted, in characters (Google splits long texts into "
            "100-character requests)."
        ),
    )
    http_port: int = Field(
        default=8095,
        ge=0,
        le=65535,
        description=(
            "Port of the clip server the speakers fetch announcements from; allow it in the "
            "host's firewall."
        ),
    )
    http_bind: str = Field(default="0.0.0.0", description="Address the clip server listens on.")
    advertise_host: str | None = Field(
        default=None,
        description=(
            "This computer's address (or host name) as the speakers reach it, used in the "
            "clip URLs. Empty: the local address that routes to each speaker. Never a "
            "container address or a Docker host name."
        ),
    )
    cache_dir: Path | None = Field(
        default=None, description="Where clips are cached. Default: $STATE_DIR/tts-cache."
    )
    cache_max_mb: float = Field(
        default=200.0,
        gt=0,
        description="Disk space for cached clips, MB; the least recently used go beyond it.",
    )

    @field_validator("tts_engines")
    @classmethod
    def _known_engines(cls, value: str) -> str:
        names = [name.strip().lower() for name in value.split(",") if name.strip()]
        if not names:
            raise ValueError(f"name at least one engine ({', '.join(KNOWN_ENGINES)})")
        unknown = [name for name in names if name not in KNOWN_ENGINES]
        if unknown:
            raise ValueError(
                f"unknown engine {unknown[0]!r}; choose from {', '.join(KNOWN_ENGINES)}"
            )
        return ",".join(names)

    @field_validator("piper_voice")
    @classmethod
    def _voice_name(cls, value: str | None) -> str | None:
        name = (value or "").strip().removesuffix(".onnx")
        if "/" in name or "\\" in name:
            raise ValueError("a voice name, not a path (put the file in PIPER_VOICES_DIR)")
        return name or None

    @field_validator("sonos_base_topic")
    @classmethod
    def _plain_topic(cls, value: str) -> str:
        if any(char in value for char in "#+") or value.endswith("/"):
            raise ValueError("must be a plain topic without wildcards or trailing slash")
        return value

    @model_validator(mode="after")
    def _default_cache_dir(self) -> SonosSettings:
        if self.cache_dir is None:
            self.cache_dir = self.state_dir / "tts-cache"
        return self

    @property
    def engine_names(self) -> list[str]:
        return self.tts_engines.split(",")

    @property
    def hosts(self) -> list[str]:
        return [host.strip() for host in self.sonos_hosts.split(",") if host.strip()]

    @property
    def cache_path(self) -> Path:
        return self.cache_dir if self.cache_dir is not None else self.state_dir / "tts-cache"

    @property
    def cache_max_bytes(self) -> int:
        return int(self.cache_max_mb * 1024 * 1024)

    # --- Audio clips, chimes and sounds as announcements --------------------------------
    sonos_clip_mode: Literal["auto", "always", "never"] = Field(
        default="auto",
        description=(
            "How announcements play. auto: as an audio clip mixed over whatever plays on "
            "speakers that offer it (Sonos S2), else by taking over the group and restoring "
            "it afterwards; always: audio clips only (a speaker without them fails the "
            'request); never: always take over. A request\'s "mode" (auto, clip, takeover) '
            "overrides it."
        ),
    )
    sonos_clip_deny_models: str = Field(
        default="Play:1,Play:3",
        description=(
            "Comma-separated Sonos model names (as the Sonos app shows them) that never get "
            "audio clips and take over instead: a Play:1 pauses its whole group for about 3 s "
            "per clip, and a Play:3 may garble the music it mixes a clip into. none allows "
            "every model."
        ),
    )
    sounds_dir: Path | None = Field(
        default=None,
        description=(
            'Folder of sound files (name.mp3 or name.wav) that a request plays with {"sound": '
            '"name"} or as its chime, read at each request. Unset: no named sounds. The '
            "image sets /sounds."
        ),
    )
    chime_sound: str | None = Field(
        default=None,
        description=(
            "Name of a sound in SOUNDS_DIR played before speech when a request asks for "
            '"chime": true. Unset: the speaker\'s built-in chime in clip mode and the '
            "bridge's own two-tone chime in takeover mode."
        ),
    )
    sound_max_mb: float = Field(
        default=10.0,
        gt=0,
        le=200,
        description="Largest sound accepted from SOUNDS_DIR or a sound_url, in MB.",
    )
    sound_fetch_timeout: float = Field(
        default=10.0,
        gt=0,
        le=120,
        description="Seconds a sound_url download may take in all before it is refused.",
    )

    @field_validator("chime_sound")
    @classmethod
    def _chime_is_a_sound(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        if info.data.get("sounds_dir") is None:
            raise ValueError("names a sound in SOUNDS_DIR: set SOUNDS_DIR too")
        if not SOUND_NAME.fullmatch(value):
            raise ValueError("is not a sound name (letters, digits, space, _ and -)")
        return value

    @property
    def clip_deny_models(self) -> tuple[str, ...]:
        names = (name.strip() for name in self.sonos_clip_deny_models.split(","))
        return tuple(name for name in names if name and name.casefold() != "none")

    @property
    def sound_max_bytes(self) -> int:
        return int(self.sound_max_mb * 1024 * 1024)

    # --- Whole house: announcements in step (issue 16) -----------------------------------
    sonos_sync: Literal["all", "always", "never"] = Field(
        default="all",
        description=(
            "When an announcement for rooms in more than one group plays in step, as one "
            "stream from a temporary group (no echo between rooms; every group is re-formed "
            "and its music put back afterwards): all: only for requests to all speakers; "
            "always: for every request that names more than one room; never: each group "
            'plays on its own, started together but not in step. A request\'s "sync" (true, '
            "false) overrides it."
        ),
    )

    # --- House rules: quiet hours, volume limits, do-not-disturb (issue 19) -------------
    tz: str | None = Field(
        default=None,
        description=(
            "Time zone of the quiet hours, an IANA name such as Europe/Berlin (the usual TZ "
            "variable). Empty: the machine's own (/etc/localtime), else UTC."
        ),
    )
    sonos_quiet_hours: Annotated[tuple[TimeRange, ...], NoDecode] = Field(
        default_factory=tuple,
        description=(
            "Daily quiet hours in the local time of TZ, comma-separated ranges such as "
            "22:00-07:00,13:00-14:30 (a range may cross midnight; 23:00-23:00 is the whole "
            "day). Empty: never quiet."
        ),
    )
    sonos_quiet_volume: int = Field(
        default=20,
        ge=0,
        le=100,
        description=(
            "Loudest announcement during quiet hours (0-100): the cap of "
            'SONOS_QUIET_POLICY=cap and of "priority": "high" requests, which always play.'
        ),
    )
    sonos_quiet_policy: Literal["cap", "hold", "drop"] = Field(
        default="cap",
        description=(
            "What quiet hours do to a normal-priority request. cap: play it at no more than "
            "SONOS_QUIET_VOLUME; hold: keep it until quiet hours end (it expires when its "
            'max_age runs out first); drop: answer it at once with status "skipped".'
        ),
    )
    sonos_max_volume: int | None = Field(
        default=None,
        ge=0,
        le=100,
        description=(
            "Loudest announcement in every room (0-100); a request asking for more plays at "
            "this and its result says so. Empty: no limit."
        ),
    )
    sonos_max_volume_per_room: Annotated[dict[str, int], NoDecode] = Field(
        default_factory=dict,
        description=(
            "Loudest announcement per room, e.g. Kitchen=60,Bedroom=30 (room names as in the "
            "Sonos app); the lower of this and SONOS_MAX_VOLUME applies."
        ),
    )
    sonos_default_volume_per_room: Annotated[dict[str, int], NoDecode] = Field(
        default_factory=dict,
        description=(
            "Announcement volume per room when a request has none, e.g. Kitchen=40,Bedroom=15; "
            "other rooms use SONOS_DEFAULT_VOLUME."
        ),
    )
    sonos_dnd_policy: Literal["hold", "drop"] = Field(
        default="hold",
        description=(
            "What a do-not-disturb switch that is on (sonos/dnd/<room>, sonos/dnd for the "
            "house) does to a normal-priority request for its rooms: hold it until the "
            'switch goes off (or its max_age runs out), or drop it (status "skipped"). '
            '"priority": "high" requests still play.'
        ),
    )

    @field_validator("tz")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        name = (value or "").strip().removeprefix(":")
        if not name:
            return None
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                "is not a time zone name such as Europe/Berlin or UTC (IANA database)"
            ) from None
        return name

    @field_validator("sonos_quiet_hours", mode="before")
    @classmethod
    def _quiet_ranges(cls, value: object) -> object:
        return parse_ranges(value) if isinstance(value, str) else value

    @field_validator("sonos_max_volume_per_room", "sonos_default_volume_per_room", mode="before")
    @classmethod
    def _room_volumes(cls, value: object) -> object:
        return parse_room_volumes(value) if isinstance(value, str) else value

    @property
    def zone(self) -> tzinfo:
        """TZ's zone; without TZ the machine's (/etc/localtime), else UTC."""
        if self.tz is not None:
            return ZoneInfo(self.tz)
        try:
            with open("/etc/localtime", "rb") as localtime:
                return ZoneInfo.from_file(localtime, key="localtime")
        except (OSError, ValueError):
            return UTC

    def house_rules(self) -> HouseRules:
        """The rules every request is judged by (built once, at start)."""
        return HouseRules(
            quiet_hours=QuietHours(self.sonos_quiet_hours, self.zone),
            quiet_volume=self.sonos_quiet_volume,
            quiet_policy=self.sonos_quiet_policy,
            max_volume=self.sonos_max_volume,
            room_max_volume=self.sonos_max_volume_per_room,
            room_volume=self.sonos_default_volume_per_room,
            default_volume=self.sonos_default_volume,
            dnd_policy=self.sonos_dnd_policy,
        )

    @property
    def rule_rooms(self) -> dict[str, list[str]]:
        """Room names each per-room setting names, by the setting's variable."""
        return {
            "SONOS_MAX_VOLUME_PER_ROOM": list(self.sonos_max_volume_per_room),
            "SONOS_DEFAULT_VOLUME_PER_ROOM": list(self.sonos_default_volume_per_room),
        }
