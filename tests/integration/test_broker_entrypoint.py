"""The broker's entrypoint: passwords generated on first start, kept, published per user.

It runs here as it runs in the container (`sh docker-entrypoint.sh`, then `exec mosquitto`),
with the data and credentials directories in a temporary folder.
"""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from testkit.support.broker import PROJECT_ROOT, USERS, MosquittoBroker
from testkit.support.probe import Probe

ENTRYPOINT = ["sh", str(PROJECT_ROOT / "mosquitto" / "docker-entrypoint.sh")]


class EntrypointBroker:
    """A broker started through the entrypoint; restartable with other variables."""

    def __init__(self, tmp_path: Path) -> None:
        self.broker = MosquittoBroker(tmp_path)
        self.data_dir = tmp_path / "entrypoint-data"
        self.credentials = tmp_path / "credentials"
        conf = self.broker.conf
        conf.write_text(
            conf.read_text().replace(
                f"password_file {self.broker.passwd}", f"password_file {self.data_dir / 'passwd'}"
            )
        )

    def start(self, **passwords: str) -> None:
        env = {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "MOSQUITTO_DATA_DIR": str(self.data_dir),
            "MOSQUITTO_CONFIG": str(self.broker.conf),
            "MOSQUITTO_CREDENTIALS_DIR": str(self.credentials),
            **passwords,
        }
        self.broker.start(ENTRYPOINT, env)

    def restart(self, **passwords: str) -> None:
        self.broker.stop()
        self.start(**passwords)

    def published(self, user: str) -> str:
        """The password the entrypoint published for `user` (what its service reads)."""
        return (self.credentials / user / "password").read_text().rstrip("\n")

    def accepts(self, user: str, password: str) -> bool:
        client = Probe(self.broker, user, password=password)
        try:
            return not client.connect_result().is_failure
        finally:
            client.close()


@pytest.fixture
def entrypoint(tmp_path: Path) -> Iterator[EntrypointBroker]:
    instance = EntrypointBroker(tmp_path)
    try:
        yield instance
    finally:
        instance.broker.kill()


def test_first_start_without_any_password_generates_one_per_user(
    entrypoint: EntrypointBroker,
) -> None:
    entrypoint.start()
    passwords = {user: entrypoint.published(user) for user in USERS}
    assert len(set(passwords.values())) == len(USERS)
    for user, password in passwords.items():
        assert len(password) >= 32 and password.isalnum(), user
        assert entrypoint.accepts(user, password), user
    assert not entrypoint.accepts("homeassistant", "")
    output = entrypoint.broker.output()
    assert "generated" in output
    for password in passwords.values():
        assert password not in output
        assert password not in (entrypoint.data_dir / "passwd").read_text()


def test_generated_passwords_survive_a_restart(entrypoint: EntrypointBroker) -> None:
    entrypoint.start()
    before = {user: entrypoint.published(user) for user in USERS}
    entrypoint.restart()
    assert {user: entrypoint.published(user) for user in USERS} == before
    assert entrypoint.accepts("sonos_bridge", before["sonos_bridge"])


def test_a_password_from_dot_env_wins_and_the_generated_one_returns_without_it(
    entrypoint: EntrypointBroker,
) -> None:
    entrypoint.start()
    generated = entrypoint.published("homeassistant")
    entrypoint.restart(MQTT_HA_PASSWORD="from-dot-env")
    assert entrypoint.published("homeassistant") == "from-dot-env"
    assert entrypoint.accepts("homeassistant", "from-dot-env")
    assert not entrypoint.accepts("homeassistant", generated)
    assert "from-dot-env" not in entrypoint.broker.output()
    entrypoint.restart()
    assert entrypoint.published("homeassistant") == generated
    assert entrypoint.accepts("homeassistant", generated)


def test_deleting_a_generated_password_renews_only_that_one(
    entrypoint: EntrypointBroker,
) -> None:
    entrypoint.start()
    before = {user: entrypoint.published(user) for user in USERS}
    (entrypoint.data_dir / "generated-passwords" / "idle_reporter").unlink()
    entrypoint.restart()
    assert entrypoint.published("idle_reporter") != before["idle_reporter"]
    assert entrypoint.accepts("idle_reporter", entrypoint.published("idle_reporter"))
    assert entrypoint.published("sonos_bridge") == before["sonos_bridge"]


def test_each_user_gets_its_own_readable_directory_for_a_volume(
    entrypoint: EntrypointBroker,
) -> None:
    """Compose mounts each directory into one service only; its uid is not root."""
    entrypoint.start()
    for user in USERS:
        directory = entrypoint.credentials / user
        assert sorted(p.name for p in directory.iterdir()) == ["password"]
        assert stat.S_IMODE(directory.stat().st_mode) == 0o755
        assert stat.S_IMODE((directory / "password").stat().st_mode) == 0o444
