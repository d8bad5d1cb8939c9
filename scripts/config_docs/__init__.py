"""One source for the configuration's documentation: the settings' descriptions.

`python -m scripts.config_docs` (`make docs`) writes, from the pydantic fields'
descriptions (and scripts/config_docs/stack.py for the variables only Compose reads):

* the `environment:` blocks of docker-compose.services.yml (every setting passed through);
* `.env.example` (every variable the Compose files read, and nothing else);
* the settings tables of docs/configuration.md (between `<!-- BEGIN generated ... -->`
  markers).

`--check` changes nothing and fails when a file is out of date (tests/unit/test_config_docs.py
runs it), so a setting added without `make docs` fails the suite with the fix in the message.
"""

from __future__ import annotations

from scripts.config_docs.catalog import ROOT, Catalog, DocsError, build_catalog
from scripts.config_docs.generate import generate, out_of_date

__all__ = ["ROOT", "Catalog", "DocsError", "build_catalog", "generate", "out_of_date"]
