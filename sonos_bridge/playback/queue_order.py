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
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")


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


class Rendezvous(Generic[T]):
    """Where the workers of every coordinator one request needs meet.

    Each worker calls `arrive` when the rendezvous reaches the head of its queue. The
    last one to arrive leads: it plays the request while the others `wait`, then calls
    `release`. Meanwhile the leader may `assign` a waiting worker a task of its own (a
    group that plays alone rather than in step): `wait` hands it over, the worker runs it
    on its own thread and waits again. A worker that cannot take part (the bridge is
    stopping) calls `cancel` instead, which releases everyone who waits and makes later
    arrivals return at once.
    """

    def __init__(self, parties: Iterable[str]) -> None:
        self.parties = frozenset(parties)
        if not self.parties:
            raise ValueError("a rendezvous needs at least one party")
        self._condition = threading.Condition()
        self._arrived: set[str] = set()
        self._tasks: dict[str, T] = {}
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

    def wait(self, uid: str, timeout: float | None = None) -> T | None:
        """Block until released (None) or a task is assigned to `uid` (the task).

        Raises TimeoutError when neither happened within `timeout`.
        """
        with self._condition:
            if not self._condition.wait_for(lambda: self._released or uid in self._tasks, timeout):
                raise TimeoutError(f"nothing for {uid} within {timeout} s")
            return self._tasks.pop(uid, None)

    def assign(self, uid: str, task: T) -> None:
        """Hand `task` to the waiting worker of `uid` (only the leader calls this)."""
        with self._condition:
            self._tasks[uid] = task
            self._condition.notify_all()

    def release(self) -> None:
        with self._condition:
            self._released = True
            self._condition.notify_all()

    def cancel(self) -> None:
        """Nobody leads: what waits goes on (the request is answered by the canceller)."""
        with self._condition:
            first = not self._released
            self._released = True
            self.cancelled = self.cancelled or first
            self._condition.notify_all()

    def cut(self) -> None:
        """The bridge stops: the request playing ends now."""
        self.stopping.set()

    @property
    def released(self) -> bool:
        with self._condition:
            return self._released
