"""How an audio clip is played on a Sonos S2 speaker.

1. Once per speaker (and again at every speaker-list refresh), in the background, the
   speaker is asked what it is (`probe`: local/info, then `getGroups` over a connection to
   its port 1443), and the connection subscribes to `audioClip:1` events. The connection
   is kept for later clips. An announcement never waits for a probe beyond `probe_wait`
   (250 ms) after the probe began: a speaker not known by then is taken over this time.
2. `loadAudioClip` with the speaker's own player id, the clip's URL on the bridge's audio
   server (or none for the speaker's built-in chime), the volume and the priority. The
   speaker answers at once with the clip's id, fetches the URL itself, and reports
   ACTIVE when it starts playing: the request's latency ends there.
3. The clip's end is awaited from its status events: DONE, or ERROR, INTERRUPTED,
   DISMISSED, bounded by the clip's length plus a margin (then it is cancelled).
Nothing of the speaker's transport, queue, grouping or volume is touched: the music
ducks under the clip and carries on.

Failures are typed (see `errors`): before anything was heard they are
`ClipUnavailableError` and the caller plays the takeover way instead; the reason is kept
per speaker until the next refresh and logged once, unless the speaker's error code says
it is momentary (`clip_error_kinds`): then only that announcement is taken over. After
the clip started they are `ClipPlaybackError` and the request fails with the reason.

Threads: `play` blocks its caller (a coordinator worker) until the clip ended; `play_many`
runs one `play_in_turn` per speaker on this player's pool; probes run on the probe pool
(threads "clip-probe_N"), started by `refresh` (which the speaker-refresh thread calls and
which waits for them) or by `support` for a speaker not known yet (which waits at most
`probe_wait`). Per speaker a lock serialises probing; verdicts are swapped under the
player's lock, so a coordinator worker never waits behind a probe; clips themselves run
unlocked, several threads may wait on one connection's `ClipTracker`.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field, replace
from typing import Any

from sonos_bridge.playback.clip.connection import S2Connection, TrackedClip
from sonos_bridge.playback.clip.errors import (
    ClipError,
    ClipLoadError,
    ClipPlaybackError,
    ClipTimeoutError,
    ClipUnavailableError,
    NoClipSupportError,
    ProbePendingError,
    S2CommandError,
    S2ConnectionLostError,
    S2NoAnswerError,
)
from sonos_bridge.playback.clip.probe import ClipSupport, pending, probe_speaker, verdict
from sonos_bridge.playback.clip.protocol import (
    APP_ID,
    FINAL_STATUSES,
    PORT,
    ClipStatus,
    ClipType,
    Priority,
)

logger = logging.getLogger(__name__)

STARTED_OR_FINAL = FINAL_STATUSES | {ClipStatus.ACTIVE}


@dataclass(frozen=True, slots=True)
class ClipOptions:
    """Timing and policy; the bridge fills them from its settings."""

    timeout: float = 5.0  # to connect, per command, and for a clip to start
    margin: float = 10.0  # beyond the clip's length before giving up on its end
    deny_models: tuple[str, ...] = ("Play:1", "Play:3")
    probe_wait: float = 0.25  # an announcement waits for a probe until this long after it began
    port: int = PORT
    app_id: str = APP_ID
    workers: int = 32  # speakers served at once by `play_many` (threads made as needed)


@dataclass(frozen=True, slots=True)
class ClipRequest:
    """One clip: a URL the bridge serves (and has checked), or None for the built-in chime."""

    name: str
    url: str | None
    duration: float  # seconds of audio; bounds the wait for the end
    volume: int | None = None
    priority: Priority = Priority.LOW

    @property
    def clip_type(self) -> ClipType:
        return ClipType.CUSTOM if self.url else ClipType.CHIME

    def body(self, app_id: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": self.name[:64],
            "appId": app_id,
            "clipType": self.clip_type.value,
            "priority": self.priority.value,
        }
        if self.url:
            body["streamUrl"] = self.url
        if self.volume is not None:
            body["volume"] = self.volume
        return body


@dataclass(frozen=True, slots=True)
class ClipPlayed:
    """A clip that played to the end; times are time.monotonic()."""

    ip: str
    clip_id: str
    loaded_at: float
    active_at: float
    ended_at: float


@dataclass
class _Link:
    """What the player keeps per speaker."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    connection: S2Connection | None = None
    support: ClipSupport | None = None
    subscribed: str | None = None  # the player id audioClip events are subscribed for
    logged: set[str] = field(default_factory=set)  # verdicts already logged ("" = clips)


class ClipPlayer:
    """Plays clips on S2 speakers over kept-open connections, one per speaker."""

    def __init__(self, options: ClipOptions | None = None) -> None:
        self.options = options or ClipOptions()
        self._links: dict[str, _Link] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(self.options.workers, thread_name_prefix="clip")
        # Probes of speakers at once; a silent speaker holds one thread for its timeouts.
        self._probes = ThreadPoolExecutor(self.options.workers, thread_name_prefix="clip-probe")
        self._probing: dict[str, tuple[Future[ClipSupport], float]] = {}  # and when it began

    # ------------------------------------------------------------ support
    def support(self, ip: str, wait: float | None = None) -> ClipSupport:
        """The verdict for `ip`; see `support_many`."""
        return self.support_many([ip], wait)[ip]

    def support_many(self, ips: Sequence[str], wait: float | None = None) -> dict[str, ClipSupport]:
        """The verdicts as known now, never blocking behind a slow probe.

        A speaker not known yet (or whose connection was lost) gets a probe in the
        background (or joins the running one), awaited until `wait` seconds after that
        probe began (`options.probe_wait` by default): a probe running since the bridge
        started costs an announcement nothing more. Without an answer by then the verdict
        is "pending" and the announcement takes over.
        """
        wait = self.options.probe_wait if wait is None else wait
        verdicts = {ip: self._usable(ip) for ip in ips}
        probes = {ip: self._probe_soon(ip) for ip, known in verdicts.items() if known is None}
        found: dict[str, ClipSupport] = {}
        for ip, (future, began) in probes.items():
            try:
                found[ip] = future.result(max(0.0, began + wait - time.monotonic()))
            except FutureTimeout:
                found[ip] = pending(ip)
        return {ip: verdicts[ip] or found[ip] for ip in ips}

    def _usable(self, ip: str) -> ClipSupport | None:
        """The kept verdict, unless there is none or its connection was lost since."""
        link = self._link(ip)
        support, connection = link.support, link.connection
        if support is None or (support.supported and (connection is None or connection.closed)):
            return None
        return support

    @property
    def full_probe_wait(self) -> float:
        """The longest a probe can take: local/info, the WebSocket and getGroups, each bounded."""
        return 3 * self.options.timeout + 1

    def knows(self, ip: str) -> bool:
        """Whether `ip` has been probed (and not forgotten by a refresh since)."""
        with self._lock:
            link = self._links.get(ip)
        return link is not None and link.support is not None

    def refresh(self, ips: Iterable[str]) -> dict[str, ClipSupport]:
        """Probe every listed speaker again (with the speaker list) and forget the others;
        waits for the probes (the caller is the refresh thread or `doctor`)."""
        wanted = list(dict.fromkeys(ips))
        with self._lock:
            gone = [ip for ip in self._links if ip not in wanted]
            for ip in gone:
                self._drop(ip, self._links.pop(ip))
        futures = {ip: self._probe_soon(ip)[0] for ip in wanted}
        return {ip: future.result() for ip, future in futures.items()}

    def _probe_soon(self, ip: str) -> tuple[Future[ClipSupport], float]:
        """The running probe of `ip` and when it began, or a new one on the probe pool."""
        with self._lock:
            running = self._probing.get(ip)
            if running is None or running[0].done():
                running = (self._probes.submit(self._reprobe, ip), time.monotonic())
                self._probing[ip] = running
            return running

    def _reprobe(self, ip: str) -> ClipSupport:
        link = self._link(ip)
        with link.lock:
            return self._probe_locked(ip, link)

    def _probe_locked(self, ip: str, link: _Link) -> ClipSupport:
        options = self.options
        capability, connection = probe_speaker(ip, link.connection, options.timeout, options.port)
        if connection is not link.connection:
            link.connection, link.subscribed = connection, None
        support = verdict(capability, options.deny_models)
        if support.supported and connection is not None and link.subscribed != support.player_id:
            assert support.player_id is not None
            try:
                connection.request(
                    "audioClip:1", "subscribe", timeout=options.timeout, playerId=support.player_id
                )
                link.subscribed = support.player_id
            except ClipUnavailableError as exc:
                support = verdict(replace(capability, problem=f"subscribe failed: {exc}"), ())
        if not support.supported and link.connection is not None:
            link.connection.close()
            link.connection, link.subscribed = None, None
        self._remember(ip, link, support)
        return support

    def _remember(self, ip: str, link: _Link, support: ClipSupport) -> None:
        """Keep the verdict; log each verdict once per speaker, however often it returns."""
        with self._lock:
            link.support = support
            verdict = support.unavailable or ""
            if verdict in link.logged:
                return
            link.logged.add(verdict)
        if support.supported:
            logger.info("Speaker %s plays announcements as audio clips (%s)", ip, support.model)
        else:
            logger.info(
                "Speaker %s cannot play audio clips: %s; its announcements take over the "
                "group and restore it",
                ip,
                support.unavailable,
            )

    def _refused(self, ip: str, error: S2CommandError | ClipLoadError) -> None:
        """A refused clip: a transient code takes this announcement over and keeps clips on;
        any other keeps clips off for this speaker until the next refresh."""
        if error.transient:
            logger.info(
                "Speaker %s refused a clip for the moment (%s); this announcement takes "
                "over, the next one is a clip again",
                ip,
                error,
            )
            return
        link = self._link(ip)
        known = link.support
        if known is not None:
            self._remember(ip, link, replace(known, unavailable=str(error)))

    # ------------------------------------------------------------ playing
    def play(self, ip: str, request: ClipRequest) -> ClipPlayed:
        """Play one clip to its end; raises `ClipUnavailableError` or `ClipPlaybackError`."""
        support = self.support(ip)
        link = self._link(ip)
        connection = link.connection
        if not support.supported or support.player_id is None or connection is None:
            refused = ProbePendingError if support.pending else NoClipSupportError
            raise refused(support.unavailable or "no audio clip support")
        loaded_at = time.monotonic()
        clip_id = self._load(ip, connection, support.player_id, request)
        clip = self._await_start(ip, connection, support.player_id, clip_id)
        active_at = clip.active_at
        assert active_at is not None
        if clip.status not in FINAL_STATUSES:
            clip = self._await_end(connection, support.player_id, clip, request)
        if clip.status != ClipStatus.DONE:
            raise ClipPlaybackError(_ended_early(clip))
        return ClipPlayed(ip, clip_id, loaded_at, active_at, time.monotonic())

    def play_in_turn(self, ip: str, requests: Sequence[ClipRequest]) -> ClipPlayed:
        """Clips one after the other (a chime, then speech): each waits for the last to end,
        since a LOW clip would interrupt the LOW clip before it."""
        first: ClipPlayed | None = None
        played: ClipPlayed | None = None
        for request in requests:
            try:
                played = self.play(ip, request)
            except ClipUnavailableError as exc:
                if first is None:
                    raise
                raise ClipPlaybackError(f"{requests[0].name} played, then: {exc}") from None
            first = first or played
        if first is None or played is None:
            raise ValueError("no clip to play")
        return ClipPlayed(ip, played.clip_id, first.loaded_at, first.active_at, played.ended_at)

    def play_many(
        self, requests: Mapping[str, Sequence[ClipRequest]]
    ) -> dict[str, ClipPlayed | ClipError]:
        """Clips on several speakers at once (by ip: the URL may differ per speaker's route);
        each speaker's outcome by ip."""
        futures = {
            ip: self._pool.submit(self.play_in_turn, ip, turn) for ip, turn in requests.items()
        }
        outcomes: dict[str, ClipPlayed | ClipError] = {}
        for ip, future in futures.items():
            try:
                outcomes[ip] = future.result()
            except ClipError as exc:
                outcomes[ip] = exc
        return outcomes

    def _load(self, ip: str, connection: S2Connection, player_id: str, request: ClipRequest) -> str:
        try:
            answer = connection.request(
                "audioClip:1",
                "loadAudioClip",
                request.body(self.options.app_id),
                timeout=self.options.timeout,
                playerId=player_id,
            )
        except S2NoAnswerError as exc:  # it may play anyway: never play it twice
            raise ClipPlaybackError(f"{exc}; the clip may have played") from None
        except S2CommandError as exc:
            self._refused(ip, exc)
            raise
        clip_id = answer.get("id")
        if not clip_id:
            raise ClipPlaybackError("loadAudioClip answered without a clip id")
        return str(clip_id)

    def _await_start(
        self, ip: str, connection: S2Connection, player_id: str, clip_id: str
    ) -> TrackedClip:
        bound = self.options.timeout + self.options.margin
        clip = connection.clips.wait(clip_id, STARTED_OR_FINAL, time.monotonic() + bound)
        if clip is None:
            self._cancel(connection, player_id, clip_id)
            raise ClipTimeoutError(f"the clip did not start within {bound:.0f} s")
        if clip.active_at is not None:
            return clip
        if clip.status == ClipStatus.ERROR:
            error = ClipLoadError(clip.error_code or "no error code")
            self._refused(ip, error)
            raise error
        raise ClipPlaybackError(f"the clip was {clip.status.lower()} before it started")

    def _await_end(
        self, connection: S2Connection, player_id: str, clip: TrackedClip, request: ClipRequest
    ) -> TrackedClip:
        assert clip.active_at is not None
        bound = request.duration + self.options.margin
        try:
            ended = connection.clips.wait(clip.clip_id, FINAL_STATUSES, clip.active_at + bound)
        except S2ConnectionLostError:
            raise ClipPlaybackError("the connection closed while the clip played") from None
        if ended is None:
            self._cancel(connection, player_id, clip.clip_id)
            raise ClipTimeoutError(
                f"the {request.duration:.1f} s clip did not finish within {bound:.0f} s"
            )
        return ended

    def _cancel(self, connection: S2Connection, player_id: str, clip_id: str) -> None:
        with contextlib.suppress(ClipError):
            connection.request(
                "audioClip:1",
                "cancelAudioClip",
                {"id": clip_id},
                timeout=self.options.timeout,
                playerId=player_id,
            )

    # ------------------------------------------------------------ lifecycle
    def _link(self, ip: str) -> _Link:
        with self._lock:
            return self._links.setdefault(ip, _Link())

    def _drop(self, ip: str, link: _Link) -> None:
        if link.connection is not None:
            logger.debug("Closing the S2 connection to %s (no longer listed)", ip)
            link.connection.close()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._probes.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            links = list(self._links.items())
            self._links.clear()
        for ip, link in links:
            self._drop(ip, link)


def _ended_early(clip: TrackedClip) -> str:
    played = time.monotonic() - (clip.active_at or time.monotonic())
    if clip.status == ClipStatus.INTERRUPTED:
        return f"interrupted by another audio clip after {played:.1f} s"
    if clip.status == ClipStatus.DISMISSED:
        return f"dismissed after {played:.1f} s"
    return f"stopped with {clip.error_code or clip.status} after {played:.1f} s"
