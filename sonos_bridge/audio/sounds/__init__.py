"""Sounds besides speech: named files in SOUNDS_DIR, sounds fetched from a URL, and chimes.

Every sound reaches a speaker the way speech does: checked to decode, stored as MP3 in
the clip cache, and served by the bridge's audio server under its key. A speaker never
gets a URL the bridge did not check.
"""
