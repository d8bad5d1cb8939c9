"""`sonos-bridge` and `python -m sonos_bridge`: the service, or the `say` command."""

from __future__ import annotations

import sys

from sonos_bridge.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
