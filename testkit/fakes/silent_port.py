"""A TCP port that accepts connections and never answers: a speaker that hangs on 1443.

Seen as a firewall that lets the SYN through and drops the rest, or a firmware whose S2
service is wedged: the client's connect succeeds and its TLS handshake (or request) waits
until its own timeout. Every probe of such a speaker costs the bridge its full timeout, so
it shows whether that timeout stays off an announcement's path.

Threads: one acceptor thread (`silent-<ip>`) holds the accepted sockets until `close`.
"""

from __future__ import annotations

import socket
import threading


class SilentPort:
    """Listens on (ip, port), accepts, reads nothing, sends nothing."""

    def __init__(self, ip: str, port: int) -> None:
        self.ip = ip
        self.port = port
        self.accepted = 0  # connections taken (and left hanging)
        self._changed = threading.Condition()
        self._held: list[socket.socket] = []
        self._listener = socket.create_server((ip, port), reuse_port=False)
        self._listener.settimeout(0.2)
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._accept, name=f"silent-{ip}", daemon=True)

    def start(self) -> SilentPort:
        self._thread.start()
        return self

    def wait_for_connections(self, count: int, timeout: float = 10.0) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: self.accepted >= count, timeout):
                raise AssertionError(
                    f"{self.ip}:{self.port}: {self.accepted} of {count} connections"
                )

    def close(self) -> None:
        self._closing.set()
        self._thread.join(2)
        self._listener.close()
        with self._changed:
            for held in self._held:
                held.close()
            self._held.clear()

    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                connection, _address = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._changed:
                self._held.append(connection)
                self.accepted += 1
                self._changed.notify_all()
