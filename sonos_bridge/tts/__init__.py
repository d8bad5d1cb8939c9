"""Speech: engines that turn text into MP3, a cache of clips, and the engine chain."""
