"""Data that ships inside the package: the knowledge base, JSON Schemas, recipes and report templates.

Found with ``importlib.resources``, so an installed wheel and an editable checkout read the same files.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib.resources import files
from pathlib import Path


def _package_dir() -> Path:
    root = files("advisor")
    # NOTE: the package is installed as plain files (wheel or editable); a zipped install is not supported,
    # because the loader walks folders and reports file paths with line numbers.
    if not isinstance(root, Path):
        raise RuntimeError(f"tinyml-advisor must be installed as files, not from {root!r}")
    return root


PACKAGE = _package_dir()
KNOWLEDGE = PACKAGE / "knowledge"
SCHEMAS = PACKAGE / "schemas"
RECIPES = PACKAGE / "recipes"
TEMPLATES = PACKAGE / "templates"


@lru_cache(maxsize=None)
def schema_json(name: str) -> dict:
    """The parsed packaged schema ``<name>.schema.json`` (no validation: see ``advisor.kb.schemas``)."""
    return json.loads((SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8"))
