"""Fake desktop services for the idle reporter's tests: a private dbus-daemon with fake
login1 / Mutter / KDE ScreenSaver services on it, and a real Xvfb."""
