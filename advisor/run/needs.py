"""Which arrays of the data file a recipe needs, derived from its steps' catalog ``data`` fields."""

from __future__ import annotations

from advisor.kb.entities import Recipe
from advisor.kb.steps import Registry, Step, default_registry

TRAINING = ("x_train", "y_train")
TEST = ("x_test", "y_test")


def _role(spec: Step, params: dict) -> str:
    """What a step reads: ``train``, ``test``, ``representative`` or ``none``.

    NOTE: the catalog says ``labelled`` both for steps that fine-tune the Keras model and for steps that
    score a converted one; which of the two a step is follows from where it runs (``keras_steps`` work on
    the Keras model). ``convert`` is catalogued ``none`` because only its int8 mode calibrates.
    """
    if spec.data == "labelled":
        return "train" if spec.target.startswith("keras_steps:") else "test"
    if spec.data == "representative" or params.get("mode") == "int8":
        return "representative"
    return "none"


def _roles(recipe: Recipe, registry: Registry | None = None) -> set[str]:
    registry = registry or default_registry()
    roles = set()
    for step in recipe.steps:
        spec = registry.get(step.uses)
        if spec is not None:
            roles.add(_role(spec, spec.resolve(step.with_)[0]))
    return roles


def data_needed(recipe: Recipe, kind: str = "classification", registry: Registry | None = None) -> set[str]:
    """The arrays a recipe cannot run without.

    ``x_rep`` stands for representative inputs, which ``x_train`` provides as well. The test arrays are
    never required: without them the scoring steps report ``skipped`` (see ``data_used``).

    Args:
        recipe: the recipe.
        kind: ``classification`` (retraining needs ``y_train``) or ``autoencoder`` (``x_train`` alone).
        registry: the step catalog (default: ``advisor.kb.steps.default_registry()``).
    Returns:
        A subset of ``{"x_train", "y_train", "x_rep"}``; empty for a float32 conversion.
    """
    roles = _roles(recipe, registry)
    needed = set()
    if "train" in roles:
        needed |= {"x_train"} if kind == "autoencoder" else set(TRAINING)
    if "representative" in roles and "x_train" not in needed:
        needed.add("x_rep")
    return needed


def data_used(recipe: Recipe, registry: Registry | None = None) -> set[str]:
    """Every array the recipe reads when the file has it (its needs, plus the test set for scoring steps).

    Returns:
        A subset of the data keys (``advisor.run.steps.runctx.DATA_KEYS``).
    """
    roles = _roles(recipe, registry)
    used = data_needed(recipe, registry=registry)
    if "test" in roles:
        used |= set(TEST)
    if "representative" in roles:
        used |= {"x_rep", "x_train"}
    return used


def retrains(recipe: Recipe, registry: Registry | None = None) -> bool:
    """True when a step fine-tunes the model, so the recipe needs a training set (``x_train``).

    This is the check ``tinyml-advisor run`` makes against the questionnaire's ``data`` field.
    """
    return "train" in _roles(recipe, registry)
