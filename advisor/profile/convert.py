"""Keras/SavedModel to full-integer int8 .tflite: the converter settings the profiler and the run stage share.

TensorFlow is imported inside the functions only.
"""

from __future__ import annotations

import warnings
from typing import Iterable

SEED = 1234  # the calibration seed (and the reference models' build seed in zoo): same seed, same bytes


def quantize_int8(converter, samples: Iterable) -> None:
    """Set ``converter`` to full-integer int8 (int8 input and output), calibrated on ``samples``.

    Args:
        converter: a ``tf.lite.TFLiteConverter``.
        samples: arrays of one batch each (shape ``(1, ...)``), iterated once per calibration pass.
    """
    import tensorflow as tf

    data = list(samples)

    def representative():
        for x in data:
            yield [x]

    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8


def run_converter(converter) -> bytes:
    """The converted model, without the converter's warning about unset input statistics (int8 io needs none)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Statistics for quantized inputs")
        return converter.convert()


def to_int8(model, samples: int = 16, seed: int = SEED) -> bytes:
    """Full-integer int8 .tflite of a Keras model, calibrated on seeded random inputs.

    Sizes, MACs and the arena do not depend on the calibration data, so random inputs serve the profiler.
    """
    import numpy as np
    import tensorflow as tf

    shape = (1,) + tuple(int(d) for d in model.input_shape[1:])
    rng = np.random.default_rng(seed)
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    quantize_int8(converter, (rng.standard_normal(shape).astype(np.float32) for _ in range(samples)))
    return run_converter(converter)
