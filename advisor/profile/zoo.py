"""The four MLPerf Tiny reference architectures in Keras (converted with ``profile.convert.to_int8``), and
builders for the other reference models whose int8 size and arena are derived (``REFERENCE_BUILDERS``).

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


# --- Builders for the wider set of reference models (advisor/knowledge/reference-models) ------------------------
# Each follows the publication that defines the architecture (cited per builder); the int8 size, the TFLM arena
# and the per-operator-class work of those entries come from profiling these builds (bench/reference_models.py).

def _ds_cnn_arm(size_info: tuple, name: str):
    """DS-CNN as ARM ML-zoo builds it (models/keyword_spotting/ds_cnn_*/model_package_tf/model_core_utils/
    models.py, create_ds_cnn_model): a flat 490-value MFCC input reshaped to 49x10x1, a first convolution,
    depthwise-separable blocks (depthwise, batch norm, ReLU, 1x1 convolution, batch norm, ReLU), average pooling
    over the whole map, a 12-way softmax classifier.

    ``size_info`` is the model_size_info of ML-zoo's recreate_model.sh after the layer count: per layer
    (features, kernel time, kernel frequency, stride time, stride frequency).
    """
    keras = _keras()
    L = keras.layers
    inp = keras.Input((490,), batch_size=1)  # a static batch: the reshape stays one RESHAPE operator
    x = L.Reshape((49, 10, 1))(inp)
    layers = [size_info[i:i + 5] for i in range(0, len(size_info), 5)]
    for i, (feat, kt, kf, st, sf) in enumerate(layers):
        if i == 0:
            x = L.Conv2D(feat, (kt, kf), strides=(st, sf), padding="same")(x)
            x = L.ReLU()(L.BatchNormalization()(x))
            continue
        x = L.DepthwiseConv2D((kt, kf), strides=(sf, st), padding="same")(x)  # ML-zoo passes (sf, st)
        x = L.ReLU()(L.BatchNormalization()(x))
        x = L.Conv2D(feat, (1, 1))(x)
        x = L.ReLU()(L.BatchNormalization()(x))
    x = L.AveragePooling2D(pool_size=(int(x.shape[1]), int(x.shape[2])), strides=1)(x)
    x = L.Flatten()(x)
    return keras.Model(inp, L.Dense(12, activation="softmax")(x), name=name)


def ds_cnn_s_arm():
    """DS-CNN-S (Hello Edge, arXiv 1711.07128): 10x4/2x2 convolution, 4 depthwise-separable blocks, 64 features."""
    return _ds_cnn_arm((64, 10, 4, 2, 2) + (64, 3, 3, 1, 1) * 4, "ds_cnn_s")


def ds_cnn_m_arm():
    """DS-CNN-M: 10x4/2x1 convolution, 4 depthwise-separable blocks (the first strided 2x2), 172 features."""
    return _ds_cnn_arm((172, 10, 4, 2, 1) + (172, 3, 3, 2, 2) + (172, 3, 3, 1, 1) * 3, "ds_cnn_m")


def ds_cnn_l_arm():
    """DS-CNN-L: 10x4/2x1 convolution, 5 depthwise-separable blocks (the first strided 2x2), 276 features."""
    return _ds_cnn_arm((276, 10, 4, 2, 1) + (276, 3, 3, 2, 2) + (276, 3, 3, 1, 1) * 4, "ds_cnn_l")


MOBILENET_V1_BLOCKS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1), (512, 1),
                       (512, 1), (512, 1), (1024, 2), (1024, 1))  # (pointwise filters at width 1.0, dw stride)


def _mobilenet_v1(alpha: float, size: int, classes: int, slim_head: bool, name: str):
    """MobileNetV1 (arXiv 1704.04861, table 1; tensorflow/models research/slim/nets/mobilenet_v1.py): a 3x3/2
    convolution of 32 x alpha filters, 13 depthwise-separable blocks, global average pooling, a classifier.
    ``slim_head``: slim's classifier, a 1x1 convolution to the logits then squeeze and softmax (the ImageNet
    checkpoints); else flatten and a dense softmax layer (the MLPerf Tiny VWW layout)."""
    keras = _keras()
    L = keras.layers
    inp = keras.Input((size, size, 3))
    x = L.Conv2D(int(32 * alpha), 3, strides=2, padding="same", use_bias=False)(inp)
    x = L.ReLU(6.0)(L.BatchNormalization()(x))
    for filters, stride in MOBILENET_V1_BLOCKS:
        x = L.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False)(x)
        x = L.ReLU(6.0)(L.BatchNormalization()(x))
        x = L.Conv2D(int(filters * alpha), 1, use_bias=False)(x)
        x = L.ReLU(6.0)(L.BatchNormalization()(x))
    x = L.AveragePooling2D(pool_size=(int(x.shape[1]), int(x.shape[2])))(x)
    if slim_head:
        x = L.Conv2D(classes, 1)(x)
        out = L.Softmax()(L.Flatten()(x))  # slim squeezes the 1x1 map: one RESHAPE
    else:
        out = L.Dense(classes, activation="softmax")(L.Flatten()(x))
    return keras.Model(inp, out, name=name)


def mobilenet_v1_025_128_ic():
    """MobileNet_v1_0.25_128 of the slim ImageNet checkpoints: 1001 classes (ImageNet's 1000 and background)."""
    return _mobilenet_v1(0.25, 128, 1001, True, "mobilenet_v1_025_128")


def mobilenet_v1_050_128_ic():
    """MobileNet_v1_0.50_128 of the slim ImageNet checkpoints: 1001 classes."""
    return _mobilenet_v1(0.5, 128, 1001, True, "mobilenet_v1_050_128")


def mobilenet_v1_050_96_vww():
    """MobileNetV1 width 0.5 on 96x96x3 with the two-class dense head of the MLPerf Tiny VWW reference."""
    return _mobilenet_v1(0.5, 96, 2, False, "mobilenet_v1_050_96_vww")


def st_gmp_har():
    """ST model zoo st_gmp HAR model (STMicroelectronics/stm32ai-modelzoo human_activity_recognition/src/models/
    gmp.py, get_gmp): a 24x3x1 accelerometer window, batch norm, two 16-filter 5x1 (time-only) valid
    convolutions with a batch norm between them, global max pooling, dropout, a 4-way dense softmax."""
    keras = _keras()
    L = keras.layers
    inp = keras.Input((24, 3, 1))
    x = L.Conv2D(16, (5, 1))(L.BatchNormalization()(inp))
    x = L.Conv2D(16, (5, 1))(L.BatchNormalization()(x))
    x = L.Dropout(0.5)(L.GlobalMaxPooling2D()(x))
    return keras.Model(inp, L.Activation("softmax")(L.Dense(4)(x)), name="st_gmp_wl_24")


def st_yolo_lc_v1_192():
    """ST model zoo st_yolo_lc_v1 (STMicroelectronics/stm32ai-modelzoo object_detection/src/models/
    st_yolo_lc_v1.py) at 192x192x3 for one class (COCO person) with the default 5 anchors: four 3x3/2
    convolutions (16-128 filters), four depthwise-separable blocks (256, 256, 128, 256) with a 2x2/1 max pool
    after the second, a 1x1 convolution to 5 x (5 + 1) outputs per cell of the 12x12 grid, batch norm."""
    keras = _keras()
    L = keras.layers
    anchors, classes = 5, 1
    inp = keras.Input((192, 192, 3))
    x = inp
    for filters in (16, 32, 64, 128):
        x = L.Conv2D(filters, 3, strides=2, padding="same", use_bias=False)(x)
        x = L.ReLU()(L.BatchNormalization()(x))
    for i, filters in enumerate((256, 256, 128, 256)):
        x = L.BatchNormalization()(L.DepthwiseConv2D(3, padding="same", use_bias=False)(x))
        x = L.Conv2D(filters, 1, padding="same", use_bias=False)(x)
        x = L.ReLU()(L.BatchNormalization()(x))
        if i == 1:
            x = L.MaxPooling2D(2, strides=1, padding="same")(x)
    x = L.Conv2D(anchors * (5 + classes), 1, padding="same", use_bias=False)(x)
    return keras.Model(inp, L.BatchNormalization()(x), name="st_yolo_lc_v1_192")


# Reference-model id -> builder, for every reference model whose figures are derived from a build here
# (the MLPerf Tiny four keep their published figures; their builders are listed so the bench prints them too).
REFERENCE_BUILDERS: dict[str, Callable] = {
    **MODELS,
    "ds-cnn-s-kws": ds_cnn_s_arm,
    "ds-cnn-m-kws": ds_cnn_m_arm,
    "ds-cnn-l-kws": ds_cnn_l_arm,
    "slim-mobilenet-v1-025-128-ic": mobilenet_v1_025_128_ic,
    "slim-mobilenet-v1-050-128-ic": mobilenet_v1_050_128_ic,
    "mobilenet-v1-050-96-vww": mobilenet_v1_050_96_vww,
    "st-gmp-har": st_gmp_har,
    "st-yolo-lc-v1-192-od": st_yolo_lc_v1_192,
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
    model = (MODELS[name] if name in MODELS else REFERENCE_BUILDERS[name])()
    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    for layer in norms:
        layer.momentum = 0.0
    x = np.random.default_rng(SEED).standard_normal((32,) + tuple(model.input_shape[1:])).astype(np.float32)
    model(x, training=True)
    for layer in norms:
        layer.momentum = 0.99
    return model
