"""Stage 1, the request: what was asked and what is answered, before any audio exists.

`announcement` turns an MQTT message into a frozen `Announcement` (or a `Rejection` that
names what is wrong); `options` is how the request wants to be played (mode, priority,
chime, sound); `sound_names` is what a sound's name may look like; `results` is the one
answer per request on `<base>/result` (and the request's MQTT v5 response topic). Imports
nothing from `audio` or `playback`.
"""
