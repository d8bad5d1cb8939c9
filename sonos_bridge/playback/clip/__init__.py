"""Audio clips: announcements mixed over whatever a Sonos S2 speaker plays.

`method.ClipMode` is clip mode as a playback method, the peer of `takeover.method` (an
announcement as clips on every member of a group); `player.ClipPlayer` is how one clip is
played (connect, load, follow its status to the end); `probe` asks a speaker what it is
(`local_info`: its ids and model over HTTPS; then `getGroups`), in the background, and
`capability` turns the answers into a record and a verdict (deny list, bonded sets from
channel maps); `connection` is one kept-open WebSocket to a speaker's port 1443;
`protocol` is the message format; `errors` tells the caller whether to fall back to the
takeover path (nothing was heard) or to report a failure, and `error_kinds` whether a
refusal is momentary (this announcement only) or lasting (until the next refresh).
"""
