"""The project's mosquitto/clients.sh against a broker started here (no Docker).

The script runs as `make add-desktop` runs it in the container: it rewrites the broker's
password file and ACL (here the test broker's own files) and sends the broker SIGHUP.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from testkit.support.broker import PROJECT_ACL, PROJECT_ROOT, MosquittoBroker

CLIENTS_SCRIPT = PROJECT_ROOT / "mosquitto" / "clients.sh"


@dataclass
class ClientsScript:
    broker: MosquittoBroker

    def env(self) -> dict[str, str]:
        process = self.broker.process
        return {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "MOSQUITTO_DATA_DIR": str(self.broker.workdir),
            "MOSQUITTO_CREDENTIALS_DIR": str(self.broker.workdir / "credentials"),
            "MOSQUITTO_PASSWD": str(self.broker.passwd),
            "MOSQUITTO_ACL": str(self.broker.acl),
            "MOSQUITTO_ACL_SOURCE": str(PROJECT_ACL),
            "MOSQUITTO_PLAIN_PORT": str(self.broker.port),
            # A pid that cannot be running when the broker is stopped.
            "MOSQUITTO_PID": str(process.pid if process and process.poll() is None else 999999),
        }

    def run(self, *arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["sh", str(CLIENTS_SCRIPT), *arguments],
            env=self.env(),
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )

    def start(self) -> None:
        """What the entrypoint does before the broker starts: the effective files."""
        result = self.run("start")
        assert result.returncode == 0, result.stderr

    def add(self, kind: str, name: str, *tls_names: str) -> str:
        """The new user's password (the script's only output on stdout)."""
        result = self.run("add", kind, name, *tls_names)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    def remove(self, name: str) -> None:
        result = self.run("remove", name)
        assert result.returncode == 0, result.stderr

    @property
    def ca_file(self) -> Path:
        return self.broker.tls_dir / "ca.crt"
