"""`python -m testkit.fakes.speaker`: see `cli`."""

from testkit.fakes.speaker.cli import main

raise SystemExit(main())
