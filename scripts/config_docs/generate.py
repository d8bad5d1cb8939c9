"""Generate every documented file, and compare with what the repository holds."""

from __future__ import annotations

from pathlib import Path

from scripts.config_docs.catalog import (
    COMPOSE_FILES,
    SERVICES_FILE,
    SETTINGS_DOC,
    Catalog,
    DocsError,
)
from scripts.config_docs.render import (
    check_placements,
    compose_defaults,
    render_env_example,
    render_services_file,
    render_settings_doc,
)

FIX = "run `make docs` and commit the result"


def generate(root: Path, catalog: Catalog) -> dict[str, str]:
    """The new text of every generated file, by path relative to `root`."""
    texts = {name: (root / name).read_text(encoding="utf-8") for name in COMPOSE_FILES}
    texts[SERVICES_FILE] = render_services_file(texts[SERVICES_FILE], catalog)
    problems = check_placements(catalog, texts)
    if problems:
        raise DocsError("; ".join(problems))
    settings_doc = (root / SETTINGS_DOC).read_text(encoding="utf-8")
    return {
        SERVICES_FILE: texts[SERVICES_FILE],
        ".env.example": render_env_example(catalog, compose_defaults(texts.values())),
        SETTINGS_DOC: render_settings_doc(settings_doc, catalog),
    }


def out_of_date(root: Path, catalog: Catalog) -> list[str]:
    """Files whose content differs from what `generate` makes."""
    return [
        name
        for name, text in generate(root, catalog).items()
        if (root / name).read_text(encoding="utf-8") != text
    ]
