"""The household broker's disk writes follow what changed, not the household's size (issue 20).

Other clients' retained updates (zigbee2mqtt, Tasmota ...) must not make it rewrite its
database; the stack's own retained state, which only the queue broker saves, comes back
after the household broker is killed before it saved anything.
"""

from __future__ import annotations

from pathlib import Path

from testkit.support.broker import BrokerPair
from testkit.support.probe import Probe, wait_bridged

DISCOVERY = "homeassistant/notify/sonos_bridge/rincon_1/config"


def database(broker_dir: Path) -> Path:
    return broker_dir / "data" / "mosquitto.db"


def test_retained_updates_of_other_clients_write_nothing(pair: BrokerPair) -> None:
    other_client = Probe(pair.household)  # a device publishing its state, retained
    for number in range(50):
        other_client.publish(f"reply/zigbee/device-{number}", f"state {number}", retain=True)
    # Saves happen at the end of the loop iteration that made the change: an
    # acknowledgement from a later iteration proves none was made for the updates.
    other_client.publish("reply/zigbee/barrier", "")
    other_client.close()
    assert not database(pair.household.workdir).exists()
    # Nor do they reach the queue broker, which saves every change it sees.
    assert b"reply/zigbee" not in database(pair.queue.workdir).read_bytes()


def test_the_stacks_retained_state_is_back_after_the_household_broker_was_killed(
    pair: BrokerPair,
) -> None:
    service = Probe(pair.queue, "sonos_bridge")
    service.publish("sonos/status", "online", retain=True)
    service.publish(DISCOVERY, '{"name": "Kitchen"}', retain=True)
    service.close()
    home_assistant = Probe(pair.household)
    home_assistant.subscribe("sonos/status")
    home_assistant.subscribe(DISCOVERY)
    home_assistant.wait_for(DISCOVERY)
    home_assistant.close()
    pair.household.kill()  # before its first save: it comes back empty
    pair.household.start()

    wait_bridged(pair.household)
    late = Probe(pair.household)
    late.subscribe("sonos/status")
    late.subscribe(DISCOVERY)
    assert late.wait_for("sonos/status")[0].payload == b"online"
    assert late.wait_for(DISCOVERY)[0].payload == b'{"name": "Kitchen"}'
    late.close()
