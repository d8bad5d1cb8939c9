"""Sonos text-to-speech bridge: MQTT requests -> speech -> clip server -> speakers.

The folders follow a request's journey, and each may import only the ones before it
(`tests/unit/sonos/test_layout.py` holds the order and checks it): `request` (what was
asked: parse, options, the result) -> `audio` (speech, sounds, the clip cache, the clip
server) -> `playback` (per-coordinator workers, the chooser, `clip` and `takeover`).
`errors` and `speakers` are shared by every stage; `service`, `cli`, `doctor`,
`ha_discovery` and `settings` wire the stages together and may import any of them.
docs/architecture.md draws the journey and lists every thread. The contract (topics,
payloads, settings) is in README.md, "Sonos bridge".
"""
