"""A real Mosquitto for tests, configured from the project's own mosquitto.conf.

Only what cannot hold on a test machine is rewritten: the port (a free one), file
locations (a temporary directory) and the user to run as. Every other option, the ACL
included, is the project's, so a broken option or ACL rule fails the suite.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import signal
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from testkit.waits import WaitTimeoutError, eventually

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PROJECT_CONF = PROJECT_ROOT / "mosquitto" / "config" / "mosquitto.conf"
PROJECT_ACL = PROJECT_ROOT / "mosquitto" / "config" / "acl"
USERS = ("sonos_bridge", "idle_reporter", "homeassistant", "healthcheck")
START_TIMEOUT = 10.0


class BrokerError(RuntimeError):
    """The broker did not start or stop as expected."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def password_for(user: str) -> str:
    return f"{user}-secret"


def derive_config(source: str, port: int, workdir: Path, acl: Path, passwd: Path) -> str:
    """Rewrite the project's config for a test run; every other line is kept as is."""
    replacements = {
        r"^listener\s+1883\b.*$": f"listener {port} 127.0.0.1",
        r"^password_file\s+.*$": f"password_file {passwd}",
        r"^acl_file\s+.*$": f"acl_file {acl}",
        r"^persistence_location\s+.*$": f"persistence_location {workdir / 'data'}/",
        r"^log_dest\s+stdout\s*$": f"log_dest file {workdir / 'mosquitto.log'}",
    }
    text = source
    for pattern, replacement in replacements.items():
        text, count = re.subn(pattern, replacement, text, flags=re.MULTILINE)
        if count == 0:
            raise BrokerError(f"project mosquitto.conf has no line matching {pattern!r}")
    # Tests run as root; keep the broker from dropping to the `mosquitto` user.
    return text + "\nuser root\n"


@dataclass
class MosquittoBroker:
    workdir: Path
    port: int = field(default_factory=free_port)
    host: str = "127.0.0.1"
    process: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        (self.workdir / "data").mkdir(parents=True, exist_ok=True)
        self.passwd = self.workdir / "passwd"
        self.acl = self.workdir / "acl"
        shutil.copyfile(PROJECT_ACL, self.acl)
        self.passwd.touch(mode=0o600)
        for user in USERS:
            subprocess.run(
                ["mosquitto_passwd", "-b", str(self.passwd), user, password_for(user)],
                check=True,
                capture_output=True,
            )
        self.conf = self.workdir / "mosquitto.conf"
        self.conf.write_text(
            derive_config(
                PROJECT_CONF.read_text(encoding="utf-8"),
                self.port,
                self.workdir,
                self.acl,
                self.passwd,
            ),
            encoding="utf-8",
        )
        self.log_path = self.workdir / "mosquitto.log"
        self.stdout_path = self.workdir / "mosquitto.stdout"

    def start(self, command: list[str] | None = None, env: dict[str, str] | None = None) -> None:
        """Start `mosquitto -c <conf>`, or `command` (e.g. the project's entrypoint)."""
        stdout = self.stdout_path.open("ab")
        self.process = subprocess.Popen(
            command or ["mosquitto", "-c", str(self.conf)],
            stdout=stdout,
            stderr=subprocess.STDOUT,
            env=env,
        )
        stdout.close()
        try:
            eventually(self._listening, "mosquitto to listen", START_TIMEOUT, every=0.02)
        except WaitTimeoutError:
            raise BrokerError(
                f"mosquitto did not listen within {START_TIMEOUT} s: {self.output()}"
            ) from None

    def _listening(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise BrokerError(f"mosquitto exited with {self.process.returncode}: {self.output()}")
        with (
            contextlib.suppress(OSError),
            socket.create_connection((self.host, self.port), 0.2),
        ):
            return True
        return False

    def stop(self) -> None:
        """Stop like `docker stop` does: SIGTERM, so the broker saves its persistence."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=10)
        self.process = None

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def output(self) -> str:
        parts = [
            p.read_text(errors="replace") for p in (self.stdout_path, self.log_path) if p.exists()
        ]
        return "\n".join(parts)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
