"""What recipe steps share: the data, the current model, the converted file, metrics and artifacts."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DATA_KEYS = {
    "x_train": "training inputs (labelled recipes; autoencoders train on these alone)",
    "y_train": "training labels, integer class ids (classifiers)",
    "x_test": "test inputs (accuracy of the Keras, TFLite and TFLM models)",
    "y_test": "test labels: class ids, or 0 normal / 1 anomaly for autoencoders",
    "x_rep": "representative inputs for int8 calibration (default: x_train)",
}


class StepFailed(RuntimeError):
    """A step could not do its work; the message says why (it goes into the manifest)."""


@dataclass
class RunContext:
    run_dir: Path
    seed: int
    data: dict
    model_path: Path
    data_name: str = "data.npz"
    model: Any = None
    teacher: Any = None
    kind: str = "classification"  # or "autoencoder": output shape == input shape
    from_logits: bool = False  # the classifier outputs logits, not probabilities
    tflite_path: Path | None = None
    quantization: str = ""
    source_format: str = "keras"  # or "onnx" (advisor.run.steps.onnx_steps)
    onnx_model: Any = None  # the checked, shape-fixed advisor.profile.onnx_read.OnnxModel
    float_reference: Path | None = None  # an ONNX model's float32 .tflite, checked against onnxruntime
    # NOTE: step implementations the loaded model's format replaces (an ONNX model's load step sets convert and
    # evaluate), so the catalog's steps stay the same for every format and no step module imports another.
    format_steps: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    artifacts: dict = field(default_factory=dict)

    def representative(self, samples: int):
        x = self.data.get("x_rep", self.data.get("x_train"))
        if x is None:
            raise StepFailed("int8 conversion needs representative inputs: x_rep or x_train in the data")
        return x[:samples]

    def training(self):
        """(inputs, targets) to fine-tune on; autoencoders reconstruct their inputs."""
        x = self.data.get("x_train")
        if x is None:
            raise StepFailed("this step retrains: the data needs x_train")
        if self.kind == "autoencoder":
            return x, x
        y = self.data.get("y_train")
        if y is None:
            raise StepFailed("this step retrains a classifier: the data needs y_train")
        return x, y


def keras():
    """tf_keras with deterministic ops (TFMOT needs the legacy Keras)."""
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    import tensorflow as tf
    import tf_keras

    tf.config.experimental.enable_op_determinism()
    return tf_keras


def compile_for(model, ctx: RunContext, learning_rate: float) -> None:
    k = keras()
    if ctx.kind == "autoencoder":
        loss, metrics = "mse", []
    else:
        loss = k.losses.SparseCategoricalCrossentropy(from_logits=ctx.from_logits)
        metrics = ["accuracy"]
    model.compile(optimizer=k.optimizers.Adam(learning_rate), loss=loss, metrics=metrics)


def fit(model, ctx: RunContext, epochs: int, batch_size: int, callbacks=()) -> dict:
    k = keras()
    k.utils.set_random_seed(ctx.seed)
    x, y = ctx.training()
    history = model.fit(x, y, epochs=epochs, batch_size=batch_size, shuffle=True, verbose=0,
                        callbacks=list(callbacks))
    return {"final_loss": float(history.history["loss"][-1])}
