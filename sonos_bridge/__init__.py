"""sonos_bridge."""
