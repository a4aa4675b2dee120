"""The model basis: what the estimates assume about the project's model (its profile, or a reference model)."""

from __future__ import annotations

from dataclasses import dataclass

from advisor.kb.base import KnowledgeBase
from advisor.kb.entities import ReferenceModel
from advisor.profile.model import ModelProfile, load_model
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

    def context(self) -> dict:
        return {"source": self.source, "ops": list(self.ops), "params": self.params, "macs": self.macs,
                "float_size_kb": self.params * 4.0 / KIB if self.params else self.int8_bytes * 4.0 / KIB,
                "input_dtype": self.input_dtype, "dynamic_shapes": self.dynamic_shapes,
                "largest_layer_macs_share": self.largest_layer_macs_share}


def basis_for(req: Requirements, kb: KnowledgeBase) -> ModelBasis:
    """The model the estimates assume: the profile of the user's .tflite, else the reference model that
    load_requirements chose (the one named, or the task's default).

    Raises:
        ProblemError: the .tflite cannot be profiled (truncated, dynamic shapes, ...).
    """
    if req.model_source == "tflite" and req.model_file is not None:
        return from_profile(load_model(req.model_file))
    ref: ReferenceModel = kb.reference_models[req.reference_model]  # load_requirements chose it
    note = f"reference model {ref.id}"
    if req.model_file is not None:
        note += (f" (profiling {req.model_file.name} needs TensorFlow to convert it: run `tinyml-advisor profile`"
                 " on it, or convert it to .tflite and name that file)")
    return ModelBasis("reference", ref.id, ref.ops, float(ref.params or 0), float(ref.macs),
                      float(ref.int8_tflite_bytes), float(ref.int8_arena_bytes), note=note)


def from_profile(profile: ModelProfile) -> ModelBasis:
    """What the solver should assume for a profiled model (sizes as an int8 deployment would have)."""
    scale = 1.0 if profile.activation_dtype in ("INT8", "UINT8") else 0.25
    largest = max((r.macs for r in profile.rows), default=0)
    note = f"profile of {profile.name}" + ("" if scale == 1.0 else " (a float model: int8 sizes taken as 1/4)")
    return ModelBasis("profile", profile.name, profile.ops, float(profile.weight_bytes), float(profile.macs),
                      float(profile.file_bytes) * scale, float(profile.plan.arena_bytes) * scale,
                      input_dtype=profile.inputs[0]["dtype"].lower() if profile.inputs else "int8",
                      dynamic_shapes=False,
                      largest_layer_macs_share=largest / profile.macs if profile.macs else 0.0,
                      other_ops=float(profile.other_ops), note=note)
