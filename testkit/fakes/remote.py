"""Watching fake speakers that run in another process, through their `/fake/` API."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from testkit.fakes.speaker import SONOS_PORT, address_is_free
from testkit.waits import eventually

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class RemoteSpeaker:
    """A fake speaker in another process; times it reports are CLOCK_MONOTONIC."""

    def __init__(self, ip: str) -> None:
        self.ip = ip
        self.base = f"http://{ip}:{SONOS_PORT}/fake"

    def state(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.base}/state", timeout=5) as response:
            body = json.loads(response.read())
        assert isinstance(body, dict)
        return body

    def play_radio(self, volume: int = 20) -> None:
        data = json.dumps({"volume": volume}).encode()
        with urllib.request.urlopen(f"{self.base}/radio", data=data, timeout=5):
            pass

    def wait_until(
        self,
        predicate: Callable[[dict[str, Any]], bool],
        timeout: float = 30.0,
        every: float = 0.02,
    ) -> dict[str, Any]:
        """Poll the other process (it has no way to notify us); returns the state that met
        `predicate`."""
        last: list[dict[str, Any]] = []

        def met() -> bool:
            try:
                last[:] = [self.state()]
            except OSError:
                return False
            return predicate(last[0])

        eventually(met, f"fake speaker {self.ip}: {predicate}", timeout, every)
        return last[0]


def free_speaker_addresses(count: int, ports: tuple[int, ...] = (SONOS_PORT,)) -> list[str]:
    """`count` loopback addresses (127.0.0.200 and up) whose speaker ports are free."""
    found = [f"127.0.0.{h}" for h in range(200, 250) if address_is_free(f"127.0.0.{h}", ports)]
    if len(found) < count:
        raise SystemExit("no free loopback addresses for the fake speakers")
    return found[:count]


def start_fake_speakers(
    speakers: dict[str, str],
    speed: float,
    *,
    radio: bool = True,
    two_writes: tuple[str, ...] = (),
    block_events: tuple[str, ...] = (),
    s2: tuple[str, ...] = (),
    groups: tuple[tuple[str, ...], ...] = (),
) -> tuple[subprocess.Popen[bytes], dict[str, RemoteSpeaker]]:
    """`python -m testkit.fakes.speaker` with these NAME -> IP speakers, once they answer.

    Speakers named in `two_writes` answer in two writes with Nagle on; those in
    `block_events` accept subscriptions but their events never arrive; those in `s2` also
    play audio clips (port 1443); each of `groups` is a coordinator and its members.
    """
    command = [sys.executable, "-m", "testkit.fakes.speaker", "--speed", str(speed)]
    for name, ip in speakers.items():
        command += ["--speaker", f"{name}={ip}"]
    for name in two_writes:
        command += ["--two-writes", name]
    for name in block_events:
        command += ["--block-events", name]
    for name in s2:
        command += ["--s2", name]
    for group in groups:
        command += ["--group", ",".join(group)]
    if radio:
        command.append("--radio")
    process = subprocess.Popen(
        command, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    remotes = {name: RemoteSpeaker(ip) for name, ip in speakers.items()}
    for remote in remotes.values():
        remote.wait_until(lambda _state: True, timeout=10)
    return process, remotes
