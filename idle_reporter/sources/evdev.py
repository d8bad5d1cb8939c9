"""Raw input devices: `struct input_event` records from /dev/input/event*.

This works under any compositor and on the console, because it reads the kernel's input
events rather than asking the desktop. A reader thread waits in select() on the devices
(no polling: zero CPU while nobody types) and notes the time of the last key, motion or
button event; sync, misc, LED and switch events are not a person and are ignored.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import logging
import os
import select
import stat
import struct
import threading
import time
from collections.abc import Callable

from idle_reporter.errors import SourceReadError, SourceUnavailableError
from idle_reporter.sources.base import IdleSource, Reading

logger = logging.getLogger(__name__)

# struct input_event { struct timeval time; __u16 type; __u16 code; __s32 value; }
# The kernel keeps `time` as two native longs on every ABI, so native alignment fits.
INPUT_EVENT = struct.Struct("@llHHi")
EV_SYN, EV_KEY, EV_REL, EV_ABS, EV_MSC = 0, 1, 2, 3, 4
ACTIVITY_TYPES = frozenset({EV_KEY, EV_REL, EV_ABS})
READ_CHUNK = INPUT_EVENT.size * 64


def pack_event(event_type: int, code: int, value: int, when: float | None = None) -> bytes:
    """One record as the kernel writes it (used by tests and the benchmark)."""
    moment = time.time() if when is None else when
    seconds = int(moment)
    return INPUT_EVENT.pack(seconds, int((moment - seconds) * 1_000_000), event_type, code, value)


def count_activity(data: bytes) -> int:
    """How many complete records in `data` are a person's input."""
    return sum(
        1
        for _sec, _usec, kind, _code, _value in INPUT_EVENT.iter_unpack(data)
        if kind in ACTIVITY_TYPES
    )


class _Device:
    def __init__(self, path: str, fd: int) -> None:
        self.path = path
        self.fd = fd
        self.pending = b""


def _open_device(path: str) -> int:
    """Open a character device read-only, a FIFO read-write (so it never reads EOF)."""
    mode = os.stat(path).st_mode
    if stat.S_ISCHR(mode):
        return os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    if stat.S_ISFIFO(mode):
        return os.open(path, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
    raise OSError(errno.ENODEV, "not an input device or FIFO")


class EvdevSource(IdleSource):
    """Seconds since the last input event on any of the configured devices."""

    name = "evdev"

    def __init__(
        self,
        patterns: list[str],
        *,
        rescan_interval: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.patterns = patterns
        self.rescan_interval = rescan_interval
        self._clock = clock
        self._devices: dict[str, _Device] = {}
        self._last_activity = clock()
        self._wake_r, self._wake_w = -1, -1
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failed_paths: set[str] = set()

    @property
    def device_paths(self) -> list[str]:
        return sorted(self._devices)

    def _expand(self) -> list[str]:
        paths: list[str] = []
        for pattern in self.patterns:
            matches = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
            paths.extend(path for path in matches if path not in paths)
        return paths

    def _scan(self) -> list[str]:
        """Open devices not yet open; return the problems with the ones that failed."""
        problems: list[str] = []
        for path in self._expand():
            if path in self._devices:
                continue
            try:
                fd = _open_device(path)
            except OSError as exc:
                hint = " (add the user to the 'input' group)" if exc.errno == errno.EACCES else ""
                problems.append(f"{path}: {exc.strerror or exc}{hint}")
                continue
            self._devices[path] = _Device(path, fd)
            self._failed_paths.discard(path)
            logger.debug("Reading input events from %s", path)
        return problems

    def open(self) -> None:
        problems = self._scan()
        if not self._devices:
            patterns = ", ".join(self.patterns)
            detail = "; ".join(problems[:3]) if problems else f"nothing matches {patterns}"
            raise SourceUnavailableError(f"no readable input device ({detail})")
        for problem in problems:
            logger.warning("Skipping input device %s", problem)
        logger.info(
            "Watching %d input device(s): %s", len(self._devices), ", ".join(self.device_paths)
        )
        self._last_activity = self._clock()
        self._wake_r, self._wake_w = os.pipe()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="evdev-reader", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        next_scan = self._clock() + self.rescan_interval
        while not self._stop.is_set():
            fds = [device.fd for device in self._devices.values()]
            timeout = max(0.0, next_scan - self._clock())
            try:
                readable, _w, _x = select.select([*fds, self._wake_r], [], [], timeout)
            except OSError as exc:
                logger.debug("select() failed (%s); rescanning", exc)
                readable = []
            for device in list(self._devices.values()):
                if device.fd in readable:
                    self._read_device(device)
            if self._clock() >= next_scan:
                self._scan()
                next_scan = self._clock() + self.rescan_interval

    def _read_device(self, device: _Device) -> None:
        try:
            data = os.read(device.fd, READ_CHUNK)
        except BlockingIOError:
            return
        except OSError as exc:
            data = b""
            logger.info("Input device %s went away (%s)", device.path, exc.strerror or exc)
        if not data:
            self._drop(device)
            return
        buffer = device.pending + data
        usable = len(buffer) - len(buffer) % INPUT_EVENT.size
        device.pending = buffer[usable:]
        if count_activity(buffer[:usable]):
            self._last_activity = self._clock()

    def _drop(self, device: _Device) -> None:
        self._devices.pop(device.path, None)
        with contextlib.suppress(OSError):
            os.close(device.fd)

    def read(self) -> Reading:
        if self._thread is None or not self._thread.is_alive():
            raise SourceReadError("evdev: the input reader is not running")
        if not self._devices:
            raise SourceReadError("evdev: every input device went away")
        return Reading(idle_seconds=max(0.0, self._clock() - self._last_activity))

    def close(self) -> None:
        self._stop.set()
        if self._wake_w >= 0:
            with contextlib.suppress(OSError):
                os.write(self._wake_w, b"x")
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        for device in list(self._devices.values()):
            self._drop(device)
        for fd in (self._wake_r, self._wake_w):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._wake_r, self._wake_w = -1, -1
