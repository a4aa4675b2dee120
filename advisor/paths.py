"""Where the project's data lives: knowledge/, schemas/, recipes/, reports/ beside the package."""

from __future__ import annotations

import os
from pathlib import Path

# NOTE: the package is installed editable from the repository, so the data folders sit next to it.
# TINYML_ADVISOR_HOME points elsewhere (tests use it for fixture knowledge bases).
HOME = Path(os.environ.get("TINYML_ADVISOR_HOME", Path(__file__).resolve().parent.parent))
KNOWLEDGE = HOME / "knowledge"
SCHEMAS = HOME / "schemas"
