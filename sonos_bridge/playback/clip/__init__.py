"""Audio clips: announcements mixed over whatever a Sonos S2 speaker plays.

`method.ClipMode` is clip mode as a playback method, the peer of `takeover.method` (an
announcement as clips on every member of a group); `player.ClipPlayer` is how one clip is
played (connect, load, follow its status to the end); `probe` decides per speaker whether
clips can be used at all; `connection` is one kept-open WebSocket to a speaker's port
1443; `protocol` is the message format; `errors` tells the caller whether to fall back to
the takeover path (nothing was heard) or to report a failure.
"""
