"""Load a Keras model without running code from the file: inspect its config first, then load it safely.

A model file can carry code: a ``Lambda`` layer's config holds Python bytecode that runs while the
model is rebuilt, a ``.keras`` config may name any module to import, and a custom class runs whatever
it registered. Keras' ``safe_mode`` covers only the ``Lambda`` layers of ``.keras`` files, so every
format is inspected here *before* TensorFlow is imported, from the file's own bytes:

- ``.h5`` / ``.hdf5``: the ``model_config`` attribute (JSON), read with h5py;
- ``.keras``: ``config.json`` inside the zip (then loaded with ``safe_mode=True`` as well);
- a SavedModel folder: ``keras_metadata.pb``, whose nodes each carry their layer's JSON config.

Every class the config names must be one of tf_keras' built-in layers, models, initializers,
regularizers or constraints (``advisor.profile.keras_names``); ``Lambda`` layers, custom classes,
modules outside Keras and TensorFlow, and ``TFOpLambda`` layers calling anything but a pure tensor
operation are refused, naming the layer. NOTE: what this cannot see: the TensorFlow graph of a
SavedModel is not inspected (graph ops run in TensorFlow, not as Python, and a ``tf.py_function``
cannot be saved with its Python), and the HDF5 library itself parses the ``.h5`` file.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import NoReturn

from advisor.files import LIMITS, MIB, check_input
from advisor.problems import Problem, ProblemError, display_path
from advisor.profile import keras_names as K

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
ZIP_MAGIC = b"PK\x03\x04"
CONFIG_LIMIT = 16 * MIB
# Loaded with compile=False: the optimizer, losses and metrics these describe are never built.
SKIPPED_KEYS = ("compile_config", "training_config")
METRIC_NODE = b"_tf_keras_metric"


def _fail(name: str, message: str, hint: str = "") -> NoReturn:
    raise ProblemError([Problem(name, 0, "", message, "model", hint)])


def load_keras_model(path: Path | str):
    """Load a ``.keras`` / ``.h5`` file or a SavedModel folder once ``inspect_keras_model`` accepts it.

    Args:
        path: the model file or SavedModel folder.
    Returns:
        The ``tf_keras`` model, loaded with ``compile=False`` (and ``safe_mode=True`` for ``.keras``).
    Raises:
        ProblemError: not a Keras model, a class that would run code from the file, or Keras cannot load it.
    """
    path = Path(path)
    kind = inspect_keras_model(path)
    import os

    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    import tf_keras as keras

    extra = {"safe_mode": True} if kind == "keras" else {}
    try:
        return keras.models.load_model(str(path), compile=False, **extra)
    except Exception as exc:  # noqa: BLE001 - Keras raises many types for files it cannot rebuild
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        _fail(display_path(path), f"cannot load the Keras model: {first}")


def inspect_keras_model(path: Path | str) -> str:
    """Check a Keras model's config without TensorFlow and without running anything from the file.

    Args:
        path: a ``.keras`` / ``.h5`` / ``.hdf5`` file or a SavedModel folder.
    Returns:
        Its format: ``keras``, ``h5`` or ``savedmodel``.
    Raises:
        ProblemError: unreadable, not a Keras model, or it names a Lambda layer, a custom class or a
            module outside Keras.
    """
    path = Path(path)
    name = display_path(path)
    check_input(path, "model", "model file", allow_dir=True)
    if path.is_dir():
        _check_config_tree(_savedmodel_configs(path, name), name)
        return "savedmodel"
    with open(path, "rb") as f:
        head = f.read(8)
    suffix = path.suffix.lower()
    if not head:
        _fail(name, "is empty, not a Keras model")
    if head.startswith(HDF5_MAGIC):
        if suffix == ".keras":
            _fail(name, "is an HDF5 file, not a .keras zip", "rename it to .h5")
        _check_config_tree([(_h5_config(path, name), True)], name)
        return "h5"
    if head.startswith(ZIP_MAGIC):
        if suffix in (".h5", ".hdf5"):
            _fail(name, "is a zip (a .keras file?), not an HDF5 file", "rename it to .keras")
        _check_config_tree([(_zip_config(path, name), True)], name)
        return "keras"
    _fail(name, "is not a Keras model: neither a .keras zip nor an HDF5 file")


def _parse_json(text: str | bytes, name: str, what: str) -> dict:
    try:
        config = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        _fail(name, f"{what} is not valid JSON ({str(exc)[:120]})")
    if not isinstance(config, dict):
        _fail(name, f"{what} is not a JSON object")
    return config


def _h5_config(path: Path, name: str) -> dict:
    import h5py

    try:
        with h5py.File(path, "r") as f:
            raw = f.attrs.get("model_config")
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        _fail(name, f"not a readable HDF5 file ({str(exc).splitlines()[0][:120] if str(exc) else 'corrupt'})")
    if raw is None:
        _fail(name, "an HDF5 file without a model_config attribute (weights only?), not a Keras model",
              "save the whole model with model.save(...)")
    if not isinstance(raw, (str, bytes)):
        _fail(name, "its model_config attribute is not a JSON string")
    return _parse_json(raw, name, "its model_config attribute")


def _zip_config(path: Path, name: str) -> dict:
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
            unpacked = sum(i.file_size for i in infos)
            if unpacked > LIMITS["model"]:
                _fail(name, f"unpacks to {unpacked / MIB:.0f} MiB; a model may be at most {LIMITS['model'] // MIB} MiB")
            info = next((i for i in infos if i.filename == "config.json"), None)
            if info is None:
                _fail(name, "a zip without config.json, not a .keras model")
            if info.file_size > CONFIG_LIMIT:
                _fail(name, f"its config.json is {info.file_size / MIB:.0f} MiB, more than a model config needs")
            with z.open(info) as f:
                raw = f.read(CONFIG_LIMIT + 1)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError, ValueError) as exc:
        _fail(name, f"not a readable .keras zip ({str(exc)[:120] or type(exc).__name__})")
    return _parse_json(raw, name, "its config.json")


def _savedmodel_configs(path: Path, name: str) -> list[tuple[dict, bool]]:
    """The JSON metadata of every node in keras_metadata.pb (read as protobuf wire format, no TensorFlow)."""
    if not (path / "saved_model.pb").is_file():
        _fail(name, "a folder without saved_model.pb is not a SavedModel")
    meta = path / "keras_metadata.pb"
    if not meta.is_file():
        _fail(name, "a SavedModel without keras_metadata.pb was not saved by Keras, so its layers cannot be "
              "checked", "save the Keras model with model.save(folder) or as .keras")
    check_input(meta, "model", "model file")
    configs = []
    for field, value in _proto_fields(meta.read_bytes(), f"{name}/keras_metadata.pb"):
        if field != 1 or not isinstance(value, bytes):
            continue
        node = dict(_proto_fields(value, f"{name}/keras_metadata.pb"))  # SavedObject: 4 identifier, 5 JSON
        if isinstance(node.get(5), bytes):  # NOTE: a metric is revived as a metric, never built from its class
            configs.append((_parse_json(node[5], name, "a node of keras_metadata.pb"), node.get(4) != METRIC_NODE))
    if not configs:
        _fail(name, "keras_metadata.pb names no layers")
    return configs


def _varint(data: bytes, pos: int, name: str) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            _fail(name, "truncated or corrupt protobuf")
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos, shift = pos + 1, shift + 7
        if not byte & 0x80:
            return value, pos


def _proto_fields(data: bytes, name: str) -> list[tuple[int, int | bytes]]:
    """(field number, value) pairs of one protobuf message; length-delimited values as bytes."""
    out, pos = [], 0
    while pos < len(data):
        key, pos = _varint(data, pos, name)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos, name)
        elif wire == 2:
            size, pos = _varint(data, pos, name)
            if pos + size > len(data):
                _fail(name, "truncated or corrupt protobuf")
            value, pos = data[pos:pos + size], pos + size
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
            value = 0
        else:
            _fail(name, f"truncated or corrupt protobuf (wire type {wire})")
        out.append((field, value))
    if pos > len(data):
        _fail(name, "truncated or corrupt protobuf")
    return out


def _check_config_tree(configs: list[tuple[dict, bool]], name: str) -> None:
    """Walk every dict of the configs; each ``class_name`` must be built in (unless not ``strict``: then only
    no Lambda), each ``module`` Keras' own."""
    stack: list[tuple[object, str, bool]] = [(c, "", strict) for c, strict in configs]
    while stack:
        node, layer, strict = stack.pop()
        if isinstance(node, list):
            stack.extend((v, layer, strict) for v in node)
            continue
        if not isinstance(node, dict):
            continue
        if "class_name" in node:
            layer = _check_object(node, layer, name, strict)
        stack.extend((v, layer, strict) for k, v in node.items() if k not in SKIPPED_KEYS)


def _check_object(node: dict, layer: str, name: str, strict: bool = True) -> str:
    """Check one serialized object; return the layer name messages should use for what is inside it."""
    cls = node["class_name"]
    config = node.get("config") if isinstance(node.get("config"), dict) else {}
    own = node.get("name") or config.get("name")
    where = f"layer '{own}'" if isinstance(own, str) and own else (f"in layer '{layer}'" if layer else "the model")
    hint = "rebuild it from built-in Keras layers; this tool never runs code from a model file"
    if not isinstance(cls, str):
        _fail(name, f"{where}: class_name is not a string")
    if cls in K.CODE_LAYERS:
        _fail(name, f"{where} is a Lambda layer: loading it would run the Python code stored in the file", hint)
    module = node.get("module")
    if module is not None and not (isinstance(module, str) and
                                   any(module == p[:-1] or module.startswith(p) for p in K.MODULE_PREFIXES)):
        _fail(name, f"{where}: class '{cls}' names module '{module}', outside Keras and TensorFlow "
              "(loading it would import that module)", hint)
    registered = node.get("registered_name")
    if strict and (cls not in K.ALLOWED or (isinstance(registered, str) and ">" in registered)):
        _fail(name, f"{where} has class '{cls}', not a built-in Keras class (a custom object: its code would "
              "run on load)", hint)
    if cls in K.OP_LAYERS:
        function = config.get("function")
        if not (isinstance(function, str) and (function in K.OP_FUNCTIONS or function.startswith(K.OP_NAMESPACES))):
            _fail(name, f"{where} ({cls}) calls tf.{function}, not a pure tensor operation this tool allows", hint)
    return own if isinstance(own, str) and own else layer
