"""Stage 2, audio: everything a speaker will fetch, made, checked and served over HTTP.

`speech` turns text into MP3 through an ordered chain of engines; `sounds` adds named files,
fetched URLs and chimes; `clip_cache.ClipCache` keeps every resulting clip on disk (speech
and sounds alike) and `server.AudioServer` serves them to the speakers; `prepared` gathers
one announcement's clips in order; `info` and `lame` say what a file holds and encode MP3.
May import `request`, never `playback`.
"""
