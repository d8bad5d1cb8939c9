"""Wiring: MQTT requests -> validation -> audio -> per-coordinator playback -> results.

Message handlers run on paho's network thread, so they only parse, look up names in
memory and hand the request to the house rules' gate (`house.HouseRulesRuntime`), which
queues each room's part (audio to the preparer, the item to its coordinator's queue),
holds it (the "held" thread releases it) or answers it. The
speaker-refresh thread re-reads the speakers and which of them can play audio clips.

A request is acknowledged to the broker only once its result is (the result's PUBACK
settles the request's receipt, on paho's thread): a bridge that dies before answering gets
the request again when it is back. Results are published from the playback workers'
threads.
"""

from __future__ import annotations

import logging
import threading
import time

import paho.mqtt.client as mqtt

from mqtt_service.acks import Receipt
from mqtt_service.connection import MqttConnection
from mqtt_service.delivery import when_all_delivered
from sonos_bridge.audio.clip_cache import ClipCache
from sonos_bridge.audio.prepared import AudioPreparer
from sonos_bridge.audio.server import AudioServer
from sonos_bridge.audio.sounds.library import SoundLibrary
from sonos_bridge.audio.speech.engines import Engine, build_engines
from sonos_bridge.audio.speech.piper_engine import preload_in_background
from sonos_bridge.audio.speech.synthesizer import Synthesizer
from sonos_bridge.doctor import check_in_background
from sonos_bridge.errors import RequestError, UnknownSpeakerError
from sonos_bridge.ha_discovery import SpeakerDiscovery
from sonos_bridge.house import HouseRulesRuntime
from sonos_bridge.playback.clip.player import ClipOptions, ClipPlayer
from sonos_bridge.playback.factory import build_playback
from sonos_bridge.playback.jobs import Job
from sonos_bridge.playback.method import PlaybackOptions
from sonos_bridge.playback.takeover.upnp import close_sessions
from sonos_bridge.request.announcement import Announcement, Rejection, ReplyTo, parse_announcement
from sonos_bridge.request.results import Result, ResultPublisher, elapsed_ms
from sonos_bridge.settings import SonosSettings
from sonos_bridge.speakers import Speaker, SpeakerRegistry

logger = logging.getLogger(__name__)

SERVICE_NAME = "sonos_bridge"


def reply_to_of(message: mqtt.MQTTMessage) -> ReplyTo | None:
    properties = message.properties
    topic = getattr(properties, "ResponseTopic", None) if properties is not None else None
    if not topic:
        return None
    correlation = getattr(properties, "CorrelationData", None)
    return ReplyTo(str(topic), bytes(correlation) if correlation is not None else None)


def engines_from(settings: SonosSettings) -> list[Engine]:
    """The engines TTS_ENGINES names, in its order (Piper with its voices)."""
    return build_engines(
        settings.engine_names,
        settings.tts_timeout,
        piper_voices_dir=settings.piper_voices_dir,
        piper_voice=settings.piper_voice,
        default_lang=settings.tts_lang,
    )


def playback_options(settings: SonosSettings, engine_count: int) -> PlaybackOptions:
    """The workers' timing; a request's audio may take every engine's timeout in turn,
    plus a sound's download."""
    return PlaybackOptions(
        timeout=settings.sonos_timeout,
        margin=settings.sonos_play_margin,
        poll_interval=settings.sonos_poll_interval,
        speech_timeout=settings.tts_timeout * max(1, engine_count)
        + settings.sound_fetch_timeout
        + 5,
    )


class BridgeService:
    """The Sonos bridge: owns every component and their start and stop order."""

    def __init__(
        self,
        settings: SonosSettings,
        *,
        options: PlaybackOptions | None = None,
        engines: list[Engine] | None = None,
        connection: MqttConnection | None = None,
    ) -> None:
        self.settings = settings
        self.base_topic = settings.sonos_base_topic
        self.connection = connection or MqttConnection(
            settings, service_name=SERVICE_NAME, base_topic=self.base_topic
        )
        self.cache = ClipCache(settings.cache_path, settings.cache_max_bytes)
        self.synthesizer = Synthesizer(
            engines if engines is not None else engines_from(settings),
            self.cache,
            online_deadline=settings.tts_online_deadline,
        )
        self.sounds = SoundLibrary(
            self.cache,
            settings.sounds_dir,
            max_bytes=settings.sound_max_bytes,
            fetch_timeout=settings.sound_fetch_timeout,
            chime_sound=settings.chime_sound,
        )
        self.preparer = AudioPreparer(self.synthesizer, self.sounds)
        self.audio = AudioServer(
            self.cache, settings.http_bind, settings.http_port, settings.advertise_host
        )
        self.registry = SpeakerRegistry(settings.hosts, settings.sonos_discovery_interface)
        self.options = options or playback_options(settings, len(self.synthesizer.engines))
        self.clip_player = ClipPlayer(
            ClipOptions(
                timeout=settings.sonos_timeout,
                margin=settings.sonos_play_margin,
                deny_models=settings.clip_deny_models,
            )
        )
        self.playback = build_playback(
            self.registry,
            clip_mode=settings.sonos_clip_mode,
            snapshot_dir=settings.state_dir / "snapshots",
            events=settings.sonos_events,
            event_port=settings.sonos_event_port,
            advertise_host=settings.advertise_host,
            url_for=self.audio.url_for,
            cache=self.cache,
            sounds=self.sounds,
            clip_player=self.clip_player,
            options=self.options,
        )
        self.results = ResultPublisher(self.connection, f"{self.base_topic}/result")
        self.house = HouseRulesRuntime(
            settings, enqueue=self._enqueue, resolve=self._resolve, in_step=self.in_step
        )
        self.discovery = SpeakerDiscovery(
            self.connection, settings.ha_discovery_prefix, self.base_topic
        )
        self._stop = threading.Event()
        self._refresh_now = threading.Event()  # a new speaker? groups put back?
        self.first_probes = threading.Event()  # set once the speakers were first probed
        self._refresher = threading.Thread(target=self._refresh_loop, name="speakers", daemon=True)
        self.playback.after_regrouping = self._refresh_now.set
        self._route_messages()

    def _route_messages(self) -> None:
        """Requests to `_on_request`; the speaker list and discovery on every (re)connect
        and, with discovery on, when Home Assistant (re)starts."""
        self.connection.subscribe_deferred(f"{self.base_topic}/tts", self._on_request)
        self.connection.subscribe_deferred(f"{self.base_topic}/tts/+", self._on_request)
        self.house.route(self.connection)
        self.connection.on_connected(self._publish_state)
        if self.settings.ha_discovery:
            self.connection.on_home_assistant_online(self._publish_discovery)

    # ------------------------------------------------------------ lifecycle
    def start_components(self) -> None:
        """Everything but the MQTT connection (which `ServiceRunner` starts)."""
        self.playback.reform_joined()  # rooms a crash left joined: before reading them
        if self.settings.piper_preload:
            preload_in_background(
                self.synthesizer.engines, self.settings.tts_lang, self.settings.piper_voice
            )
        self.registry.refresh()
        self.house.start([s.name for s in self.registry.all()])  # a bad room stops us here
        self.audio.start()
        self.playback.start()  # groups a crash left mid-announcement: restored first
        self.setup_check = check_in_background(self.settings, self.registry, self.audio.port)
        default = self.settings.sonos_default_speaker
        if default:
            try:
                self.registry.resolve([default])
            except RequestError:
                logger.warning(
                    "SONOS_DEFAULT_SPEAKER=%s is not among the speakers found (%s)",
                    default,
                    ", ".join(s.name for s in self.registry.all()) or "none",
                )
        self._refresher.start()

    def start(self) -> None:
        self.start_components()
        self.connection.start()

    def shutdown(self) -> None:
        """Stop serving requests; the runner disconnects from the broker afterwards.

        The announcement playing may finish within SONOS_STOP_GRACE. What has not played
        by then is left unacknowledged (see `_answer`): the broker delivers it again when
        the bridge is back, instead of a "failed" answer.
        """
        self.connection.hold_deliveries()
        self._stop.set()
        self._refresh_now.set()
        self.house.stop()
        self.playback.stop(timeout=self.options.timeout, grace=self.settings.sonos_stop_grace)
        self.clip_player.close()
        self.preparer.close()
        self.synthesizer.close()
        self.audio.stop()
        close_sessions()

    def stop(self) -> None:
        self.shutdown()
        self.connection.stop()

    def healthy(self) -> bool:
        limit = self.settings.sonos_stuck_after
        stuck = self.playback.stuck(limit)
        if stuck:
            logger.error(
                "Playback on %s has been busy with one announcement for over %.0f s "
                "(SONOS_STUCK_AFTER): stuck",
                ", ".join(stuck),
                limit,
            )
        return not stuck

    # ------------------------------------------------------------- speakers
    def refresh_speakers(self) -> None:
        changed = self.registry.refresh()
        self.probe_clips()
        if changed:
            self.house.speakers_changed([s.name for s in self.registry.all()])
            self._publish_state()

    def probe_clips(self) -> None:
        """Ask the listed speakers again whether they can play audio clips (and keep the
        connections of those that can). With SONOS_CLIP_MODE=never only the speakers a
        request's "mode" asked for clips are probed."""
        ips = [speaker.ip for speaker in self.registry.all()]
        if self.settings.sonos_clip_mode == "never":
            ips = [ip for ip in ips if self.clip_player.knows(ip)]
        try:
            self.clip_player.refresh(ips)
        except Exception:
            logger.exception("Probing the speakers for audio clips failed; trying again later")

    def _refresh_loop(self) -> None:
        self.probe_clips()  # the first verdicts, off the start path
        self.first_probes.set()
        while not self._stop.is_set():
            self._refresh_now.wait(self.settings.sonos_refresh_interval)
            self._refresh_now.clear()
            if self._stop.is_set():
                return
            try:
                self.refresh_speakers()
            except Exception:
                logger.exception("Refreshing the speaker list failed; trying again later")

    def _publish_state(self) -> None:
        self.connection.publish(
            f"{self.base_topic}/speakers", self.registry.to_json(), qos=1, retain=True
        )
        self._publish_discovery()

    def _publish_discovery(self) -> None:
        """With HA_DISCOVERY off, entities published earlier are removed."""
        self.discovery.publish(self.registry.all() if self.settings.ha_discovery else [])

    # ------------------------------------------------------------- requests
    def _on_request(self, message: mqtt.MQTTMessage, receipt: Receipt) -> None:
        if message.retain:
            logger.warning(
                "Ignoring a retained request on %s: requests must not be retained, or they "
                "would be spoken at every restart (clear it with an empty retained message)",
                message.topic,
            )
            receipt.settle()
            return
        prefix = f"{self.base_topic}/tts/"
        topic_speaker = message.topic[len(prefix) :] if message.topic.startswith(prefix) else None
        parsed = parse_announcement(
            message.payload,
            topic_speaker=topic_speaker or None,
            default_speaker=self.settings.sonos_default_speaker,
            max_chars=self.settings.tts_max_chars,
            reply_to=reply_to_of(message),
            # max_age counts from the first arrival, also when the bridge died since.
            received_at=time.monotonic() - max(0.0, time.time() - receipt.first_seen),
        )
        if isinstance(parsed, Rejection):
            self._answer_rejection(parsed, receipt)
            return
        self.dispatch(parsed, receipt)

    def dispatch(self, announcement: Announcement, receipt: Receipt) -> None:
        """Validate against what the bridge knows, then let the house rules route it."""
        try:  # an unknown language or voice is refused now, not when the audio is made
            self.synthesizer.language_for(
                announcement.lang, announcement.voice, self.settings.tts_lang
            )
            targets = self.registry.resolve(list(announcement.speakers))
        except RequestError as exc:
            if isinstance(exc, UnknownSpeakerError):
                self._refresh_now.set()  # answer now; a new speaker is known next time
            logger.warning("Refusing request %s: %s", announcement.id, exc)
            self._answer_rejection(
                Rejection(
                    announcement.id,
                    announcement.speakers,
                    str(exc),
                    announcement.reply_to,
                    announcement.received_at,
                ),
                receipt,
            )
            return

        def answer(result: Result, played: Announcement) -> None:
            self._answer(result, played.reply_to, receipt)

        logger.info(
            "Request %s: %d characters for %s",
            announcement.id,
            len(announcement.text),
            ", ".join(s.name for s in targets),
        )
        self.house.gate.admit(announcement, targets, answer)

    def _enqueue(self, job: Job, targets: list[Speaker], in_step: bool) -> None:
        """Queue a request's rooms that play now (the gate's call, on paho's thread or
        the held thread): its audio starts being made at once."""
        announcement = job.announcement
        lang = self.synthesizer.language_for(
            announcement.lang, announcement.voice, self.settings.tts_lang
        )
        audio = self.preparer.submit(announcement, lang)
        self.playback.enqueue(job, targets, audio, in_step=in_step)

    def _resolve(self, names: list[str]) -> list[Speaker]:
        return self.registry.resolve(names)

    def in_step(self, announcement: Announcement, targets: list[Speaker]) -> bool:
        """Whether several rooms play as one stream: the request's "sync", else SONOS_SYNC
        (`all`: for requests to all speakers; `always`; `never`)."""
        if len(targets) < 2:
            return False
        wanted = announcement.options.sync
        if wanted is None:
            rule = self.settings.sonos_sync
            wanted = rule == "always" or (rule == "all" and announcement.all_speakers)
        return wanted

    def _answer_rejection(self, rejection: Rejection, receipt: Receipt) -> None:
        result = Result(
            id=rejection.id,
            status="failed",
            speakers=rejection.speakers,
            error=rejection.error,
            latency_ms=elapsed_ms(rejection.received_at),
        )
        self._answer(result, rejection.reply_to, receipt)

    def _answer(self, result: Result, reply_to: ReplyTo | None, receipt: Receipt) -> None:
        """Publish the result; the request is acknowledged once the broker has it."""
        if self._stop.is_set() and result.status == "failed":
            logger.warning(
                "Request %s did not play before the bridge stopped (%s); leaving it "
                "unacknowledged: the broker delivers it again when the bridge is back",
                result.id,
                result.error,
            )
            return
        when_all_delivered(self.results.publish(result, reply_to), receipt.settle)
