"""Several coordinators' queues taken at once: one global order, no deadlock."""

from __future__ import annotations

import queue
import random
import threading

import pytest

from sonos_bridge.playback.queue_order import Rendezvous, global_order, holding


@pytest.mark.parametrize(
    ("uids", "order"),
    [
        ([], []),
        (["RINCON_B"], ["RINCON_B"]),
        (["RINCON_C", "RINCON_A", "RINCON_B"], ["RINCON_A", "RINCON_B", "RINCON_C"]),
        (["RINCON_B", "RINCON_A", "RINCON_B"], ["RINCON_A", "RINCON_B"]),
    ],
)
def test_global_order(uids: list[str], order: list[str]) -> None:
    assert global_order(uids) == order


class Recording:
    """A lock that says when it is taken, to see the order."""

    def __init__(self, name: str, log: list[str]) -> None:
        self.name, self.log, self.lock = name, log, threading.Lock()

    def acquire(self) -> bool:
        self.log.append(self.name)
        return self.lock.acquire()

    def release(self) -> None:
        self.lock.release()


def test_locks_are_taken_in_global_order_and_all_released() -> None:
    log: list[str] = []
    locks = {name: Recording(name, log) for name in ["C", "A", "B"]}
    with holding(locks):  # type: ignore[arg-type]
        assert all(lock.lock.locked() for lock in locks.values())
    assert log == ["A", "B", "C"]
    assert not any(lock.lock.locked() for lock in locks.values())


def test_the_last_to_arrive_leads() -> None:
    meeting = Rendezvous(["A", "B", "C"])
    assert [meeting.arrive("B"), meeting.arrive("A"), meeting.arrive("C")] == [
        False,
        False,
        True,
    ]
    assert not meeting.wait(timeout=0)
    meeting.release()
    assert meeting.wait(timeout=0) and not meeting.cancelled


def test_a_cancelled_rendezvous_frees_who_waits_and_nobody_leads() -> None:
    meeting = Rendezvous(["A", "B"])
    assert not meeting.arrive("A")
    assert meeting.cancel()
    assert not meeting.cancel()  # only the first answers the request
    assert meeting.wait(timeout=0) and meeting.cancelled
    assert not meeting.arrive("B")  # came too late: goes on with its queue


@pytest.mark.parametrize("parties", [[], ["A"]])
def test_a_rendezvous_knows_its_parties(parties: list[str]) -> None:
    if not parties:
        with pytest.raises(ValueError, match="at least one"):
            Rendezvous(parties)
        return
    with pytest.raises(ValueError, match="not a party"):
        Rendezvous(parties).arrive("Z")


Item = tuple[int, Rendezvous] | None


class Households:
    """Coordinator queues, each drained by its worker; a job on several coordinators is
    played by the last worker to reach it while the others wait (as in the bridge)."""

    def __init__(self, coordinators: list[str]) -> None:
        self.queues: dict[str, queue.Queue[Item]] = {c: queue.Queue() for c in coordinators}
        self.locks = {c: threading.Lock() for c in coordinators}
        self.played: dict[str, list[int]] = {c: [] for c in coordinators}
        self.workers = [
            threading.Thread(target=self.work, args=(c,), daemon=True) for c in coordinators
        ]
        for worker in self.workers:
            worker.start()

    def enqueue(self, job: int, coordinators: list[str]) -> None:
        meeting: Rendezvous = Rendezvous(coordinators)
        chosen = {c: self.locks[c] for c in coordinators}
        with holding(chosen):
            for coordinator in random.sample(coordinators, len(coordinators)):
                self.queues[coordinator].put((job, meeting))

    def work(self, coordinator: str) -> None:
        while (item := self.queues[coordinator].get()) is not None:
            job, meeting = item
            self.played[coordinator].append(job)
            if meeting.arrive(coordinator):
                meeting.release()
            else:
                assert meeting.wait(timeout=30), f"job {job} never gathered its workers"

    def close(self) -> None:
        for q in self.queues.values():
            q.put(None)
        for worker in self.workers:
            worker.join(30)


def test_many_overlapping_requests_from_many_clients_all_finish_in_one_order() -> None:
    coordinators = [f"RINCON_{n:02d}" for n in range(8)]
    house = Households(coordinators)
    rng = random.Random(16)
    requests = [(n, rng.sample(coordinators, rng.randint(1, 5))) for n in range(400)]

    def send(part: list[tuple[int, list[str]]]) -> None:
        for job, targets in part:
            house.enqueue(job, targets)

    clients = [threading.Thread(target=send, args=(requests[i::8],)) for i in range(8)]
    for client in clients:
        client.start()
    for client in clients:
        client.join(30)
    house.close()
    assert not any(worker.is_alive() for worker in house.workers), "deadlock"
    rank = {c: {job: i for i, job in enumerate(jobs)} for c, jobs in house.played.items()}
    for job, targets in requests:
        assert all(job in rank[c] for c in targets)
    # Any two requests that share coordinators meet in the same order on each of them.
    for c1 in coordinators:
        for c2 in coordinators:
            common = rank[c1].keys() & rank[c2].keys()
            order1 = sorted(common, key=rank[c1].__getitem__)
            order2 = sorted(common, key=rank[c2].__getitem__)
            assert order1 == order2
