"""Stage 3, playback: getting an announcement's clips heard on a group, then answering.

`jobs` spreads one request over the group coordinators it targets and combines their
outcomes into one result; `workers` runs one queue and thread per coordinator; `method`
is the interface a worker plays through, implemented by two peers, `clip` (S2 audio clips
mixed over the music) and `takeover` (UPnP snapshot, play, restore); `chooser` picks one of
them per announcement and group; `factory` builds it all. May import `request` and `audio`;
`clip` and `takeover` never import each other.
"""
