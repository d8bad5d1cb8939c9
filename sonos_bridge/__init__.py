"""Sonos text-to-speech bridge: MQTT requests -> speech -> clip server -> speakers.

The contract (topics, payloads, settings) is in README.md, "Sonos bridge".
"""
