"""Takeover: the group stops what it plays, plays the announcement over UPnP, gets it back.

`method.Takeover` is takeover as a playback method (one batch: one snapshot, the
announcements in order, one restore); `snapshot` reads and restores what a group was
playing, and `snapshot_store` keeps that on disk so that a crash mid-announcement is
restored at the next start; `transport_events` follows the transport state by UPnP events
(with polling as the fallback); `upnp` sends SoCo's SOAP calls over kept-alive connections
with readable errors.
"""
