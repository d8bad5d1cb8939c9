"""Sonos text-to-speech bridge: MQTT requests -> speech -> clip server -> speakers.

See docs/sonos.md for the contract (topics, payloads, settings).
"""
