"""`python -m scripts.config_docs [--check]`: write the generated files, or check them."""

from __future__ import annotations

import argparse
import sys

from scripts.config_docs import ROOT, DocsError, build_catalog, generate, out_of_date
from scripts.config_docs.generate import FIX


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make docs", description=__doc__)
    parser.add_argument("--check", action="store_true", help="change nothing; fail on drift")
    options = parser.parse_args(argv)
    try:
        catalog = build_catalog()
        if options.check:
            stale = out_of_date(ROOT, catalog)
            if stale:
                print(f"out of date: {', '.join(stale)}: {FIX}", file=sys.stderr)
                return 1
            return 0
        for name, text in generate(ROOT, catalog).items():
            (ROOT / name).write_text(text, encoding="utf-8")
            print(f"wrote {name}")
    except DocsError as exc:
        print(f"config docs: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
