"""An SSDP responder for the fake speakers, on the loopback interface only.

SoCo's discovery multicasts an M-SEARCH for ZonePlayers on the interface it is given and
treats the source address of the first answer containing "Sonos" as a speaker. Bound to
127.0.0.1, no packet reaches a real network card.
"""

from __future__ import annotations

import logging
import socket
import threading

from testkit.fakes.speaker import SONOS_PORT, FakeSpeaker

logger = logging.getLogger(__name__)

SSDP_GROUP = "239.255.255.250"
SSDP_PORT = 1900
INTERFACE = "127.0.0.1"


class SsdpResponder:
    """Answers ZonePlayer searches on loopback, from `speaker`'s own address."""

    def __init__(self, speaker: FakeSpeaker) -> None:
        self.speaker = speaker
        self.searches = 0
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        self._socket.bind((SSDP_GROUP, SSDP_PORT))
        membership = socket.inet_aton(SSDP_GROUP) + socket.inet_aton(INTERFACE)
        self._socket.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
        self._socket.settimeout(0.1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fake-ssdp", daemon=True)

    def start(self) -> SsdpResponder:
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self._socket.close()

    def _answer(self) -> bytes:
        speaker = self.speaker
        return (
            "HTTP/1.1 200 OK\r\n"
            "CACHE-CONTROL: max-age = 1800\r\nEXT:\r\n"
            f"LOCATION: http://{speaker.ip}:{SONOS_PORT}/xml/device_description.xml\r\n"
            "SERVER: Linux UPnP/1.0 Sonos/79.1-00000 (ZPS1)\r\n"
            "ST: urn:schemas-upnp-org:device:ZonePlayer:1\r\n"
            f"USN: uuid:{speaker.uid}::urn:schemas-upnp-org:device:ZonePlayer:1\r\n\r\n"
        ).encode()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data, sender = self._socket.recvfrom(2048)
            except TimeoutError:
                continue
            except OSError:
                return
            if not data.startswith(b"M-SEARCH") or b"ZonePlayer" not in data:
                continue
            self.searches += 1
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as reply:
                reply.bind((self.speaker.ip, 0))  # SoCo takes the answer's source address
                reply.sendto(self._answer(), sender)
