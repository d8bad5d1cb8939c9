"""`FakeSonosSystem`: several speakers in one household on free loopback addresses."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from testkit.fakes.s2 import S2_PORT, Certificate, S2Profile, make_certificate
from testkit.fakes.speaker.device import FakeSpeaker
from testkit.fakes.speaker.server import address_is_free, loopback_addresses
from testkit.fakes.speaker.state import SONOS_PORT
from testkit.fakes.speaker.topology import FakeHousehold


@dataclass
class FakeSonosSystem:
    """Several speakers in one household, each on the next free loopback address.

    Free addresses are searched from a configurable base so that a run of the test suite
    and a standalone fake (e.g. the Docker e2e tests on the same host) do not collide.
    S2 speakers share one self-signed certificate, made when the first one is added.
    """

    speed: float = 1.0
    first_host: int = 2
    household: FakeHousehold = field(default_factory=FakeHousehold)
    speakers: dict[str, FakeSpeaker] = field(default_factory=dict)
    _certificate: Certificate | None = field(default=None, init=False, repr=False)
    _certificate_dir: Path | None = field(default=None, init=False, repr=False)

    def add(
        self,
        name: str,
        ip: str | None = None,
        *,
        two_writes: bool = False,
        uid: str | None = None,
        s2: S2Profile | None = None,
    ) -> FakeSpeaker:
        """A speaker; with `s2`, one that also serves the S2 API (audio clips) on 1443."""
        ports = (SONOS_PORT, S2_PORT) if s2 else (SONOS_PORT,)
        certificate = self.certificate() if s2 else None
        candidates = [ip] if ip else loopback_addresses(self.first_host)
        for candidate in candidates:
            taken = {speaker.ip for speaker in self.speakers.values()}
            if candidate in taken or (ip is None and not address_is_free(candidate, ports)):
                continue
            try:
                speaker = FakeSpeaker(
                    name,
                    candidate,
                    self.household,
                    uid=uid,
                    speed=self.speed,
                    two_writes=two_writes,
                    s2=s2,
                    certificate=certificate,
                )
            except OSError:
                if ip:
                    raise
                continue
            self.speakers[name] = speaker.start()
            return speaker
        raise RuntimeError("no free loopback address for a fake speaker")

    def certificate(self) -> Certificate:
        if self._certificate is None:
            self._certificate_dir = Path(tempfile.mkdtemp(prefix="fake-s2-"))
            self._certificate = make_certificate(self._certificate_dir)
        return self._certificate

    def _remove(self, name: str) -> FakeSpeaker:
        old = self.speakers.pop(name)
        old.close()
        self.household.remove(old)
        return old

    def _again(self, old: FakeSpeaker, ip: str) -> FakeSpeaker:
        profile = old.s2.profile if old.s2 else None
        return self.add(old.name, ip, two_writes=old.two_writes, uid=old.uid, s2=profile)

    def restart(self, name: str) -> FakeSpeaker:
        """Power-cycle a speaker: same name, address and UID, fresh state and connections."""
        old = self._remove(name)
        return self._again(old, old.ip)

    def move(self, name: str) -> FakeSpeaker:
        """The speaker comes back at another address (a new DHCP lease), same UID."""
        old = self._remove(name)
        taken = {speaker.ip for speaker in self.speakers.values()} | {old.ip}
        ip = next(
            a for a in loopback_addresses(self.first_host) if a not in taken and address_is_free(a)
        )
        return self._again(old, ip)

    def close(self) -> None:
        for speaker in self.speakers.values():
            speaker.close()
        if self._certificate_dir is not None:
            shutil.rmtree(self._certificate_dir, ignore_errors=True)

    def __getitem__(self, name: str) -> FakeSpeaker:
        return self.speakers[name]
