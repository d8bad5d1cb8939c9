"""Idle sources: each answers "seconds since the last input" one way.

One module per source, `base` for the interface and `auto` for choosing one.
"""
