"""Taking several coordinators' queues at once without two requests waiting for each other.

An in-step announcement needs every group it joins to itself at the same time: it puts a
`Rendezvous` on each of those groups' coordinator queues, and each worker that reaches it
stops there until the announcement is over. Two such requests for overlapping rooms could
wait for each other for ever if one sat ahead of the other in one queue and behind it in
another. So a request's items go on all its queues while it holds every one of those
queues' locks, taken in one global order (the coordinators' UIDs, sorted): two requests
then reach their common queues in the same order everywhere, and the one ahead in every
queue can always gather all its workers. Queues a request does not touch are not taken,
so a request for another room is never delayed.

Threads: `holding` runs on whichever thread enqueues (paho's network thread, or a test's);
`Rendezvous.arrive` and `wait` run on the coordinator workers' threads; `cut` on the main
thread when the bridge stops.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager

logger = logging.getLogger(__name__)


def global_order(uids: Iterable[str]) -> list[str]:
    """The order every caller takes coordinators' queues in: each UID once, sorted."""
    return sorted(set(uids))


@contextmanager
def holding(locks: Mapping[str, threading.Lock]) -> Iterator[None]:
    """Hold every lock of `locks` (coordinator UID -> its queue's lock), in global order."""
    taken: list[threading.Lock] = []
    try:
        for uid in global_order(locks):
            lock = locks[uid]
            lock.acquire()
            taken.append(lock)
        yield
    finally:
        for lock in reversed(taken):
            lock.release()


class Rendezvous:
    """Where the workers of every coordinator one request needs meet.

    Each worker calls `arrive` when the rendezvous reaches the head of its queue. The
    last one to arrive leads: it plays the request while the others `wait`, then calls
    `release`. A worker that cannot take part (the bridge is stopping) calls `cancel`
    instead, which releases everyone who waits and makes later arrivals return at once.
    """

    def __init__(self, parties: Iterable[str]) -> None:
        self.parties = frozenset(parties)
        if not self.parties:
            raise ValueError("a rendezvous needs at least one party")
        self._condition = threading.Condition()
        self._arrived: set[str] = set()
        self._released = False
        self.cancelled = False
        self.stopping = threading.Event()  # set to cut the request playing short

    def arrive(self, uid: str) -> bool:
        """Register `uid`'s worker; True when it is the last and must lead."""
        if uid not in self.parties:
            raise ValueError(f"{uid} is not a party of this rendezvous")
        with self._condition:
            if self._released:
                return False
            self._arrived.add(uid)
            return self._arrived == self.parties

    @property
    def arrived(self) -> frozenset[str]:
        with self._condition:
            return frozenset(self._arrived)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the leader released the parties (or `cancel`); False on timeout."""
        with self._condition:
            return self._condition.wait_for(lambda: self._released, timeout)

    def release(self) -> None:
        with self._condition:
            self._released = True
            self._condition.notify_all()

    def cancel(self) -> bool:
        """Nobody leads: what waits goes on. True for the first caller, who answers the
        request; False when it was released or cancelled already."""
        with self._condition:
            first = not self._released
            self._released = True
            self.cancelled = self.cancelled or first
            self._condition.notify_all()
            return first

    def cut(self) -> None:
        """The bridge stops: the request playing ends now."""
        self.stopping.set()

    @property
    def released(self) -> bool:
        with self._condition:
            return self._released
