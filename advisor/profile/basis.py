"""The model basis: what the estimates assume about the project's model (its profile, or a reference model).

Without a model file the basis is a reference model from the knowledge base, chosen for the project
(``choose_reference``) and scaled to its input shape and class count where the reference's architecture
says how (``scale_reference``); every choice and scaling is stated in the basis note.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from advisor.kb.base import KnowledgeBase
from advisor.kb.entities import ReferenceModel
from advisor.perf import mix_from_profile
from advisor.profile.keras_cache import keras_int8
from advisor.profile.model import ModelProfile, load_model, profile_graph
from advisor.profile.tflite import parse_tflite
from advisor.questionnaire.requirements import Requirements

KIB = 1024.0


@dataclass(frozen=True)
class ModelBasis:
    """What the estimates assume about the model."""

    source: str  # reference | profile
    name: str
    ops: tuple[str, ...]
    params: float
    macs: float
    int8_bytes: float
    int8_arena_bytes: float
    input_dtype: str = "int8"
    dynamic_shapes: bool = False
    largest_layer_macs_share: float = 0.0  # unknown for reference models
    other_ops: float = 0.0  # pooling / element-wise work beyond the MACs (0.0 for reference models: unpublished)
    note: str = ""
    input_bytes: float = 0.0  # one int8 input tensor (0.0 when the input shape is unknown)
    op_mix: tuple = ()  # per-operator-class work of a profiled model (advisor.perf.OpMix.as_tuple); () = unknown
    # int8 activation buffers alone, without the interpreter's own allocations (0.0 = unknown: take the arena)
    activation_bytes: float = 0.0

    def context(self) -> dict:
        return {"source": self.source, "ops": list(self.ops), "params": self.params, "macs": self.macs,
                "float_size_kb": self.params * 4.0 / KIB if self.params else self.int8_bytes * 4.0 / KIB,
                "input_dtype": self.input_dtype, "dynamic_shapes": self.dynamic_shapes,
                "largest_layer_macs_share": self.largest_layer_macs_share}


def basis_for(req: Requirements, kb: KnowledgeBase) -> ModelBasis:
    """The model the estimates assume: the profile of the user's model file, else a reference model chosen
    for the project and scaled to its input (see the module doc).

    A Keras file or SavedModel is converted to int8 once, in a child process (``advise`` itself never imports
    TensorFlow), and cached by content hash; without TensorFlow installed the reference model stands in and
    the note says so.

    Raises:
        ProblemError: the model file cannot be profiled (truncated, dynamic shapes, not convertible, ...), or
            no reference model can stand in (``task: other`` without a model file or an input shape).
    """
    if req.model_file is not None and req.model_source == "tflite":
        return from_profile(load_model(req.model_file))
    if req.model_file is not None and req.model_source in ("keras", "h5", "savedmodel"):
        converted = keras_int8(req.model_file)
        if converted is not None:
            data, display = converted
            profile = profile_graph(parse_tflite(data, display), display)
            basis = from_profile(profile)
            return _with_note(basis, basis.note + " (converted to int8 once, cached by content hash)")
    if req.model_file is not None and req.model_source not in ("keras", "h5", "savedmodel", "reference"):
        return from_profile(load_model(req.model_file, req.input_shape))  # formats profiled without TensorFlow
    ref, why = choose_reference(req, kb)
    basis = scale_reference(ref, req)
    note = basis.note if not why else f"{basis.note}; {why}"
    if req.model_file is not None:
        note += (f" (profiling {req.model_file.name} converts it with TensorFlow, which is not installed: "
                 "pip install 'tinyml-advisor[ml]', or convert it to .tflite and name that file)")
    return _with_note(basis, note)


def _with_note(basis: ModelBasis, note: str) -> ModelBasis:
    from dataclasses import replace

    return replace(basis, note=note)


def _spatial(shape: tuple[int, ...]) -> int:
    """Elements of the input without its channel axis (the last one for rank >= 2)."""
    dims = shape[:-1] if len(shape) >= 2 else shape
    return int(math.prod(dims)) if dims else 1


def _distance(ref: ReferenceModel, shape: tuple[int, ...]) -> float:
    """How far a reference's input is from the project's: log size ratio, plus 1 for another rank."""
    if not shape:
        return 0.0
    ratio = math.prod(shape) / max(1, math.prod(ref.input_shape))
    return abs(math.log(ratio)) + (0.0 if len(shape) == len(ref.input_shape) else 1.0)


def choose_reference(req: Requirements, kb: KnowledgeBase) -> tuple[ReferenceModel, str]:
    """The reference model the estimates assume, and why it was chosen ("" when the questionnaire named it).

    The task's reference models (for ``task: other``, or a task without one, those of the same input kind,
    else all), and among them the one whose input is nearest to ``input.shape`` of those that fit the
    questionnaire's RAM and flash budgets after scaling; when none fits, the one needing the least RAM.
    Among equally near inputs: one whose published accuracy reaches ``accuracy.target_pct``, then the class
    count nearest the questionnaire's, then the smallest arena (a team starts from the smallest model that
    does the job), then the first by id, so the choice is deterministic.

    Raises:
        ProblemError: no reference model can stand in (the questionnaire checks this first).
    """
    if req.reference_model:
        return kb.reference_models[req.reference_model], ""
    refs = sorted(kb.reference_models.values(), key=lambda r: r.id)
    pool = [r for r in refs if req.task in r.tasks]
    scope = f"task {req.task}"
    if not pool:
        pool = [r for r in refs if r.input_kind == req.input_kind] or refs
        scope = f"input kind {req.input_kind}" if pool is not refs else "any task"
    scaled = [(r, scale_reference(r, req)) for r in pool]

    def fits(b: ModelBasis) -> bool:
        return ((not req.ram_budget_kb or b.int8_arena_bytes / KIB <= req.ram_budget_kb)
                and (not req.flash_budget_kb or b.int8_bytes / KIB <= req.flash_budget_kb))

    def misses_target(r: ReferenceModel) -> bool:
        accuracy = r.int8_accuracy_pct if r.int8_accuracy_pct is not None else r.float_accuracy_pct
        return bool(req.accuracy_target_pct) and (accuracy is None or accuracy < req.accuracy_target_pct)

    def classes_apart(r: ReferenceModel) -> float:
        return abs(math.log(req.num_classes / r.num_classes)) if req.num_classes and r.num_classes else 0.0

    fitting = [(r, b) for r, b in scaled if fits(b)]
    if fitting:
        ref = min(fitting, key=lambda rb: (round(_distance(rb[0], req.input_shape), 6), misses_target(rb[0]),
                                           round(classes_apart(rb[0]), 6), rb[1].int8_arena_bytes, rb[0].id))[0]
        budgets = " within the RAM/flash budget" if (req.ram_budget_kb or req.flash_budget_kb) else ""
        shape = f" with the input nearest to {list(req.input_shape)}" if req.input_shape else ""
        if req.accuracy_target_pct:
            budgets += (f", reaching the {req.accuracy_target_pct:g} % target" if not misses_target(ref)
                        else f" (none that fits publishes the {req.accuracy_target_pct:g} % target)")
    else:
        ref = min(scaled, key=lambda rb: (rb[1].int8_arena_bytes, rb[0].id))[0]
        budgets, shape = " needing the least RAM (none fits the budget)", ""
    if len(pool) == 1:
        return ref, f"the only reference model for {scope}"
    return ref, f"chosen of {len(pool)} reference models for {scope}{shape}{budgets}"


def scale_reference(ref: ReferenceModel, req: Requirements) -> ModelBasis:
    """The reference model's figures, scaled to the questionnaire's input shape and class count.

    ``input_scaling: spatial`` (all-convolutional nets ending in global pooling): MACs and arena follow the
    input's spatial area, weights stay; the first layer's cost also follows the input channels, which is
    not modelled (said so). Another class count changes the classifier by ``head_features`` weights and MACs
    per class. Anything else is not scaled, and the note says the input differs.
    """
    macs, arena, size = float(ref.macs), float(ref.int8_arena_bytes), float(ref.int8_tflite_bytes)
    params = float(ref.params or 0)
    notes = [f"reference model {ref.id}"]
    shape = tuple(req.input_shape)
    if shape and shape != tuple(ref.input_shape):
        if ref.input_scaling == "spatial" and len(shape) == len(ref.input_shape):
            factor = _spatial(shape) / max(1, _spatial(tuple(ref.input_shape)))
            macs *= factor
            arena *= factor
            notes.append(f"MACs and arena scaled by {factor:.3g} from its input {list(ref.input_shape)} to "
                         f"{list(shape)} (global pooling: weights unchanged; first-layer channels not modelled)")
        else:
            notes.append(f"its input {list(ref.input_shape)} differs from {list(shape)} and is not scaled "
                         "(give the model file for exact figures)")
    classes = req.num_classes
    if classes and ref.num_classes and classes != ref.num_classes and ref.head_features:
        delta = (classes - ref.num_classes) * ref.head_features
        macs = max(1.0, macs + delta)
        size = max(1.0, size + delta + 4 * (classes - ref.num_classes))  # int8 weights + int32 biases
        params = params + delta + (classes - ref.num_classes) if params else 0.0
        notes.append(f"classifier resized from {ref.num_classes} to {classes} classes")
    input_bytes = float(math.prod(shape or tuple(ref.input_shape)))
    activations = float(ref.activation_bytes) * arena / ref.int8_arena_bytes if ref.activation_bytes else 0.0
    return ModelBasis("reference", ref.id, ref.ops, params, macs, size, arena, note=", ".join(notes),
                      input_bytes=input_bytes, activation_bytes=activations)


def from_profile(profile: ModelProfile) -> ModelBasis:
    """What the solver should assume for a profiled model (sizes as an int8 deployment would have)."""
    scale = 1.0 if profile.activation_dtype in ("INT8", "UINT8") else 0.25
    largest = max((r.macs for r in profile.rows), default=0)
    note = f"profile of {profile.name}" + ("" if scale == 1.0 else " (a float model: int8 sizes taken as 1/4)")
    input_elems = sum(math.prod(int(d) for d in i.get("shape", ()) if int(d) > 0) for i in profile.inputs)
    return ModelBasis("profile", profile.name, profile.ops, float(profile.weight_bytes), float(profile.macs),
                      float(profile.file_bytes) * scale, float(profile.plan.arena_bytes) * scale,
                      input_dtype=profile.inputs[0]["dtype"].lower() if profile.inputs else "int8",
                      dynamic_shapes=False,
                      largest_layer_macs_share=largest / profile.macs if profile.macs else 0.0,
                      other_ops=float(profile.other_ops), note=note, input_bytes=float(input_elems),
                      op_mix=mix_from_profile(profile).as_tuple(),
                      activation_bytes=float(profile.plan.head_bytes) * scale)
