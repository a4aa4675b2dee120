"""Builders of the architecture families in the catalog (``advisor.kb.families``); TensorFlow inside functions.

Each builder takes the input shape, the number of outputs (classes; ignored by autoencoders) and the family's
parameters, and returns an untrained tf_keras model; with the catalog's defaults it rebuilds the example
baseline it is named after (``advisor.run.datasets.baseline`` builds its models here).
"""

from __future__ import annotations

from advisor.kb.families import CATALOG


def _units(base: int, width: float) -> int:
    return max(1, int(round(base * width)))


def digits_cnn(input_shape: tuple, outputs: int, width: float, depth: int, kernel: int):
    from advisor.run.steps.runctx import keras

    k = keras()
    L = k.layers
    inp = k.Input(input_shape)
    x = inp
    for filters in (32, 64)[:depth]:
        x = L.MaxPooling2D(2)(L.Conv2D(_units(filters, width), kernel, padding="same", activation="relu")(x))
    x = L.Dense(_units(128, width), activation="relu")(L.Flatten()(x))
    return k.Model(inp, L.Dense(outputs, activation="softmax")(x))


def imu_cnn(input_shape: tuple, outputs: int, width: float, depth: int, kernel: int):
    from advisor.run.steps.runctx import keras

    k = keras()
    L = k.layers
    inp = k.Input(input_shape)
    x = inp
    for i, filters in enumerate((16, 32, 32)[:depth]):
        x = L.Conv2D(_units(filters, width), (kernel, input_shape[1] if i == 0 else 1), activation="relu")(x)
    x = L.MaxPooling2D((2, 1))(x)
    x = L.Dense(_units(32, width), activation="relu")(L.Flatten()(x))
    return k.Model(inp, L.Dense(outputs, activation="softmax")(x))


def dense_autoencoder(input_shape: tuple, outputs: int, width: float, depth: int, bottleneck: int):
    from advisor.run.steps.runctx import keras

    k = keras()
    L = k.layers
    inp = k.Input(input_shape)
    hidden = [_units(u, width) for u in (256, 64, 32, 16)[:depth]]
    x = inp
    for units in hidden + [bottleneck] + hidden[::-1]:
        x = L.Dense(units, activation="relu")(x)
    return k.Model(inp, L.Dense(int(input_shape[-1]))(x))


def build(family: str, input_shape: tuple, outputs: int, params: dict | None = None, seed: int = 0):
    """An untrained model of ``family`` with ``params`` (missing ones take the catalog's defaults); the
    initial weights are a function of ``seed``."""
    from advisor.run.steps.runctx import keras

    keras().utils.set_random_seed(seed)
    spec = CATALOG[family]
    values = {name: p.default for name, p in spec.params.items()} | dict(params or {})
    return globals()[spec.target](tuple(input_shape), outputs, **values)


def train(model, data: dict, kind: str, settings, seed: int = 0) -> dict:
    """Train ``model`` from scratch on ``data`` (an autoencoder on x_train alone) with Adam.

    Args:
        settings: the family's ``train`` entry (epochs, batch_size, learning_rate).
    Returns:
        ``{"epochs", "final_loss"}``.
    """
    from advisor.run.steps.runctx import keras

    k = keras()
    k.utils.set_random_seed(seed)
    x = data["x_train"]
    if kind == "autoencoder":
        model.compile(optimizer=k.optimizers.Adam(settings.learning_rate), loss="mse")
        y = x
    else:
        model.compile(optimizer=k.optimizers.Adam(settings.learning_rate), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        y = data["y_train"]
    history = model.fit(x, y, epochs=settings.epochs, batch_size=settings.batch_size, shuffle=True, verbose=0)
    return {"epochs": settings.epochs, "final_loss": float(history.history["loss"][-1])}


def signature(model) -> list[tuple]:
    """Layer types and output shapes: two models with the same signature have the same architecture."""
    return [(type(layer).__name__, tuple(layer.output_shape[1:]) if isinstance(layer.output_shape, tuple) else
             str(layer.output_shape)) for layer in model.layers]


def family_of(model, kind: str, outputs: int, families) -> str | None:
    """The family whose defaults rebuild ``model``'s architecture, or None."""
    shape = tuple(model.input_shape[1:])
    for fid in sorted(families):
        spec = CATALOG.get(fid)
        if spec is None or spec.kind != kind:
            continue
        try:
            candidate = build(fid, shape, outputs)
        except ValueError:  # the family cannot take this input shape
            continue
        if signature(candidate) == signature(model):
            return fid
    return None
