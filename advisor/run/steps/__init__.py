"""Recipe step implementations, one module per family; the catalog they implement is ``advisor.kb.steps``.

TensorFlow is imported inside the step functions only, so resolving a step stays light.
"""

from __future__ import annotations

import importlib
from typing import Callable

from advisor.kb.steps import Step


def implementation(step: Step) -> Callable:
    """The function ``run(ctx, params)`` that implements a catalog step."""
    module, _, name = step.target.partition(":")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
