"""A score block of metrics.json (accuracy, or AUC for autoencoders) as a number and as text."""

from __future__ import annotations


def _percent(block: dict | None) -> float | None:
    """A score block's accuracy, or its AUC as a percentage; None when absent or not a number (null)."""
    value = (block or {}).get("accuracy", (block or {}).get("auc"))
    if value is None:
        return None
    return value if "accuracy" in block else value * 100


def _metric_text(block: dict | None) -> str:
    if _percent(block) is None:
        return "not measured" if not block or ("accuracy" not in block and "auc" not in block) else "not a number"
    if "accuracy" in block:
        return f"{block['accuracy']:.2f}%"
    return f"AUC {block['auc']:.3f}"
