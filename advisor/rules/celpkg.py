"""The ``cel`` package (CEL's Rust evaluator) without its interactive REPL.

NOTE: ``cel/__init__.py`` imports its command-line REPL (prompt_toolkit, pygments, rich), which costs about
0.2 s on every command that evaluates a rule and is never used here. A placeholder module under the name
``cel.cli`` is registered before the first import, so only the evaluator and its stdlib load. Anything that
wants the real REPL imports it before this module runs.
"""

from __future__ import annotations

import sys
import types

if "cel" not in sys.modules:
    sys.modules.setdefault("cel.cli", types.ModuleType("cel.cli", "placeholder: tinyml-advisor does not use the REPL"))

import cel  # noqa: E402

__all__ = ["cel"]
