"""Test support shared by tests/, bench/ and tests/e2e/ (installed by `make venv`).

- `testkit.waits`: the one set of wait helpers (await a condition; poll what has no event).
- `testkit.support`: a real Mosquitto from the project's config, MQTT probes, service
  processes, generated audio files.
- `testkit.fakes`: the fake Sonos speaker (UPnP + S2 WebSocket; `python -m
  testkit.fakes.speaker` runs it standalone), fake Google TTS, bridge harness.
- `testkit.idle_fakes`: a private dbus-daemon with fake desktop services, Xvfb, real
  compositors, a running idle reporter.
"""
