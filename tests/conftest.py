"""Shared test helpers."""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# The suite never reads or writes the user's own cache (crash logs, compiled knowledge bases).
os.environ["TINYML_ADVISOR_CACHE"] = tempfile.mkdtemp(prefix="tinyml-advisor-test-cache-")

ROOT = Path(__file__).resolve().parent.parent

# NOTE: a base install (no `ml` extra) runs the light tests only; modules that need numpy at import
# time are not even collected there, so `pytest -m "not slow"` works on the wheel without TensorFlow.
if importlib.util.find_spec("numpy") is None:
    collect_ignore = ["test_run.py", "test_profile_tflm.py"]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def minimal_kb(tmp_path: Path) -> Path:
    """A writable copy of the minimal valid fixture knowledge base, with its recipes folder beside it."""
    dest = tmp_path / "kb"
    shutil.copytree(FIXTURES / "kb-minimal", dest)
    shutil.copytree(FIXTURES / "recipes", tmp_path / "recipes")
    return dest
