"""The four MLPerf Tiny reference architectures in Keras (converted with ``profile.convert.to_int8``).

Layer shapes follow the mlcommons/tiny training code (benchmark/training/*); trained weights are
not needed to measure memory, so the weights are the initializer's, fixed by a seed. TensorFlow is
imported inside the functions (TF_USE_LEGACY_KERAS=1 and tf_keras, as TFMOT needs).
"""

from __future__ import annotations

import os
from typing import Callable

from advisor.profile.convert import SEED, to_int8  # noqa: F401 - to_int8 is the zoo's converter too


def _keras():
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    import tf_keras as keras

    return keras


def ds_cnn_kws():
    """DS-CNN for keyword spotting: 49x10 MFCC input, 64 filters, 4 depthwise-separable blocks, 12 classes."""
    keras = _keras()
    L = keras.layers
    inp = keras.Input((49, 10, 1))
    x = L.Conv2D(64, (10, 4), strides=(2, 2), padding="same", use_bias=False)(inp)
    x = L.ReLU()(L.BatchNormalization()(x))
    for _ in range(4):
        x = L.DepthwiseConv2D((3, 3), padding="same", use_bias=False)(x)
        x = L.ReLU()(L.BatchNormalization()(x))
        x = L.Conv2D(64, (1, 1), use_bias=False)(x)
        x = L.ReLU()(L.BatchNormalization()(x))
    x = L.AveragePooling2D(pool_size=(int(x.shape[1]), int(x.shape[2])))(x)
    x = L.Flatten()(x)
    return keras.Model(inp, L.Dense(12, activation="softmax")(x), name="ds_cnn_kws")


def mobilenet_v1_025_vww():
    """MobileNetV1 with width 0.25 on 96x96x3, 2 classes (visual wake words)."""
    keras = _keras()
    L = keras.layers
    inp = keras.Input((96, 96, 3))
    x = L.Conv2D(8, 3, strides=2, padding="same", use_bias=False)(inp)
    x = L.ReLU()(L.BatchNormalization()(x))
    for filters, stride in ((16, 1), (32, 2), (32, 1), (64, 2), (64, 1), (128, 2), (128, 1), (128, 1),
                            (128, 1), (128, 1), (128, 1), (256, 2), (256, 1)):
        x = L.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False)(x)
        x = L.ReLU()(L.BatchNormalization()(x))
        x = L.Conv2D(filters, 1, use_bias=False)(x)
        x = L.ReLU()(L.BatchNormalization()(x))
    x = L.AveragePooling2D(pool_size=(int(x.shape[1]), int(x.shape[2])))(x)
    x = L.Flatten()(x)
    return keras.Model(inp, L.Dense(2, activation="softmax")(x), name="mobilenet_v1_025_vww")


def resnet8_ic():
    """ResNet-8 for 32x32x3 CIFAR-10 images: three residual stages of 16, 32 and 64 filters."""
    keras = _keras()
    L = keras.layers
    inp = keras.Input((32, 32, 3))
    x = L.Conv2D(16, 3, padding="same", kernel_regularizer=None)(inp)
    x = L.ReLU()(L.BatchNormalization()(x))
    for filters, stride in ((16, 1), (32, 2), (64, 2)):
        y = L.Conv2D(filters, 3, strides=stride, padding="same")(x)
        y = L.ReLU()(L.BatchNormalization()(y))
        y = L.BatchNormalization()(L.Conv2D(filters, 3, padding="same")(y))
        if stride != 1:
            x = L.Conv2D(filters, 1, strides=stride, padding="same")(x)
        x = L.ReLU()(L.Add()([x, y]))
    x = L.AveragePooling2D(pool_size=int(x.shape[1]))(x)
    x = L.Flatten()(x)
    return keras.Model(inp, L.Dense(10, activation="softmax")(x), name="resnet8_ic")


def fc_autoencoder_ad():
    """The fully connected autoencoder for anomaly detection: 640 -> 4x128 -> 8 -> 4x128 -> 640."""
    keras = _keras()
    L = keras.layers
    inp = keras.Input((640,))
    x = inp
    for units in (128, 128, 128, 128, 8, 128, 128, 128, 128):
        x = L.ReLU()(L.BatchNormalization()(L.Dense(units)(x)))
    return keras.Model(inp, L.Dense(640)(x), name="fc_autoencoder_ad")


MODELS: dict[str, Callable] = {
    "ds-cnn-kws": ds_cnn_kws,
    "mobilenet-v1-025-vww": mobilenet_v1_025_vww,
    "resnet-8-ic": resnet8_ic,
    "fc-autoencoder-ad": fc_autoencoder_ad,
}


def build(name: str):
    """A freshly built reference model with seeded weights and batch-norm statistics set from data.

    NOTE: with initial batch-norm statistics, activations shrink layer after layer in the deeper
    models until some channels are constant; the int8 converter then emits degenerate scales that
    make the TFLM interpreter abort. One forward pass in training mode with momentum 0 sets every
    batch-norm layer's moving statistics to those of seeded random inputs, as a trained model's are.
    """
    import numpy as np
    import tensorflow as tf

    keras = _keras()
    keras.utils.set_random_seed(SEED)
    tf.config.experimental.enable_op_determinism()
    model = MODELS[name]()
    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    for layer in norms:
        layer.momentum = 0.0
    x = np.random.default_rng(SEED).standard_normal((32,) + tuple(model.input_shape[1:])).astype(np.float32)
    model(x, training=True)
    for layer in norms:
        layer.momentum = 0.99
    return model
