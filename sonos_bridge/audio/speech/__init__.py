"""Speech: engines that turn text into MP3, their health, voices, and the engine chain."""
