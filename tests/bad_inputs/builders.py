"""Builders for bad-input cases that YAML cannot spell: each writes one file at ``path``."""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

FIXTURE_TFLITE = Path(__file__).resolve().parent.parent / "fixtures" / "models" / "ds-cnn-kws.tflite"


def npz_zip_bomb(path: Path, mib: int = 4096) -> None:
    """An .npz whose member header claims a huge array: tiny on disk, ``mib`` MiB if loaded."""
    side = int((mib * 1024 * 1024 / 4) ** 0.5)
    header = ("{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }" % (side, side)).encode("latin1")
    header += b" " * ((64 - (len(header) + 11) % 64) % 64) + b"\n"
    npy = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        with z.open("x_rep.npy", "w", force_zip64=True) as f:
            f.write(npy)
            chunk = b"\0" * (1 << 20)
            for _ in range(64):  # 64 MiB of zeros compress to ~64 KiB
                f.write(chunk)
    path.write_bytes(buf.getvalue())


def tflite_patched(path: Path, offset: int = 0, data_hex: str = "") -> None:
    """The fixture model with bytes at ``offset`` overwritten (a corrupt flatbuffer)."""
    data = bytearray(FIXTURE_TFLITE.read_bytes())
    patch = bytes.fromhex(data_hex)
    data[offset:offset + len(patch)] = patch
    path.write_bytes(bytes(data))


def tflite_truncated(path: Path, keep: int = 64) -> None:
    """The fixture model cut after ``keep`` bytes."""
    path.write_bytes(FIXTURE_TFLITE.read_bytes()[:keep])


def _run_manifest(status: str) -> dict:
    """A manifest as advisor/run/runner.py writes it (schemas/manifest.schema.json) for recipe int8-ptq."""
    plan = (("load", "load-model", [], {}), ("convert", "convert", ["load"], {"mode": "int8", "samples": 100}),
            ("evaluate", "evaluate", ["convert"], {}), ("tflm", "tflm-validate", ["convert"], {"samples": 10000}),
            ("export", "export-c", ["tflm"], {"arena_margin_pct": 10.0}))
    outputs = {"load": {"parameters": 24908, "kind": "classification", "input_shape": [49, 10, 1]},
               "convert": {"tflite_bytes": 37000, "gzip_bytes": 30000, "sha256": "0" * 64},
               "evaluate": {"float": {"accuracy": 91.5}, "keras": {"accuracy": 91.5}, "tflite": {"accuracy": 90.8}},
               "tflm": {"arena_bytes": 21000, "arena_head_bytes": 20000, "arena_tail_bytes": 1000,
                        "ops": ["CONV_2D", "FULLY_CONNECTED"], "accuracy": 90.8, "samples": 100},
               "export": {"arena_bytes": 23100, "arena_basis": "measured", "ops": ["CONV_2D"], "model_bytes": 37000}}
    running = status == "running"
    steps = []
    for i, (sid, uses, _req, _params) in enumerate(plan):
        state = "ok" if not running or i < 1 else "running" if i == 1 else "pending"
        steps.append({"id": sid, "uses": uses, "status": state, "seconds": 1.5 if state == "ok" else None,
                      "outputs": outputs[sid] if state == "ok" else {}, "error": None})
    return {
        "manifest_version": 1, "run_id": "20260101-000000-int8-ptq-0123abcd", "status": status,
        "started_utc": "2026-01-01T00:00:00+00:00", "finished_utc": None if running else "2026-01-01T00:01:00+00:00",
        "seed": 0, "inputs": {"model": {"path": "model.keras", "sha256": "1" * 64},
                              "data": {"path": "data.npz", "sha256": "2" * 64}},
        "versions": {"python": "3.11.0", "tinyml-advisor": "0.1.0", "tensorflow": "2.16.1", "tflite-micro": None},
        "knowledge_base": "3" * 64,
        "recipe": {"id": "int8-ptq", "name": "Full-integer int8 post-training quantization", "quantization": "int8",
                   "steps": [{"id": s, "uses": u, "requires": r, "params": p} for s, u, r, p in plan]},
        "steps": steps, "failure": None,
        "artifacts": {} if running else {"model.tflite": {"sha256": "0" * 64, "bytes": 37000}},
    }


RUN_METRICS = {"size": {"tflite_bytes": 37000, "gzip_bytes": 30000, "sha256": "0" * 64},
               "float": {"accuracy": 91.5}, "keras": {"accuracy": 91.5}, "tflite": {"accuracy": 90.8},
               "tflm": {"arena_bytes": 21000, "arena_head_bytes": 20000, "arena_tail_bytes": 1000,
                        "ops": ["CONV_2D", "FULLY_CONNECTED"], "accuracy": 90.8, "samples": 100}}


def _edit(data: dict, dotted: str, value: object = None, drop: bool = False) -> None:
    """Set (or delete) ``a.b.0.c`` in ``data``; list indices are digits."""
    *parents, last = [int(p) if p.isdigit() else p for p in dotted.split(".")]
    for part in parents:
        data = data[part]
    if drop:
        del data[last]
    else:
        data[last] = value


def run_folder(path: Path, status: str = "ok", metrics: bool = True, tflite: bool = True,
               set: dict | None = None, drop: list | None = None, set_metrics: dict | None = None) -> None:  # noqa: A002
    """A run folder (``runs/<id>/``) without TensorFlow: manifest.json, metrics.json and the fixture model.

    ``set``/``drop`` edit the manifest by dotted path (``steps.0.status``), ``set_metrics`` the metrics, as a
    person editing the files by hand would; ``metrics: false`` leaves metrics.json out (as a running run does).
    """
    import json

    path.mkdir(parents=True, exist_ok=True)
    manifest = _run_manifest(status)
    for dotted, value in (set or {}).items():
        _edit(manifest, dotted, value)
    for dotted in drop or []:
        _edit(manifest, dotted, drop=True)
    (path / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    if metrics and status != "running":
        data = json.loads(json.dumps(RUN_METRICS))
        for dotted, value in (set_metrics or {}).items():
            _edit(data, dotted, value)
        (path / "metrics.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    if tflite:
        (path / "model.tflite").write_bytes(FIXTURE_TFLITE.read_bytes())


# A small TFLite writer (the ``flatbuffers`` builder only, no TensorFlow), so a case can spell any field,
# including the out-of-range and negative values a converter never writes. Field numbers: schema.fbs.
TINY_MODEL = {
    "codes": [9],  # FULLY_CONNECTED
    "buffers": [0, 0, 8, 0],  # bytes of constant data per buffer
    "tensors": [{"shape": [1, 4], "buffer": 1, "name": "input"},
                {"shape": [2, 4], "buffer": 2, "name": "weights"},
                {"shape": [1, 2], "buffer": 3, "name": "output"}],
    "operators": [{"opcode": 0, "inputs": [0, 1, -1], "outputs": [2]}],
    "inputs": [0],
    "outputs": [2],
}


def _fb_ints(b, values, fmt: str = "i"):
    b.StartVector(struct.calcsize(fmt), len(values), 4)
    for v in reversed(values):
        b.PrependInt32(v) if fmt == "i" else b.PrependUint8(v)
    return b.EndVector()


def _fb_tables(b, offsets):
    b.StartVector(4, len(offsets), 4)
    for o in reversed(offsets):
        b.PrependUOffsetTRelative(o)
    return b.EndVector()


def _fb_tensor(b, t: dict):
    name = b.CreateString(t.get("name", ""))
    shape = _fb_ints(b, t["shape"])
    signature = _fb_ints(b, t["signature"]) if "signature" in t else None
    b.StartObject(8)
    b.PrependUOffsetTRelativeSlot(0, shape, 0)
    b.PrependInt8Slot(1, t.get("type", 9), 0)  # INT8
    b.PrependUint32Slot(2, t.get("buffer", 0), 0)
    b.PrependUOffsetTRelativeSlot(3, name, 0)
    b.PrependBoolSlot(5, t.get("variable", False), False)
    if signature is not None:
        b.PrependUOffsetTRelativeSlot(7, signature, 0)
    return b.EndObject()


def _fb_operator(b, op: dict):
    ins, outs = _fb_ints(b, op["inputs"]), _fb_ints(b, op["outputs"])
    options = None
    if "options" in op:  # {"type": union type, "fields": [int32 per slot]}
        b.StartObject(len(op["options"]["fields"]))
        for slot, value in enumerate(op["options"]["fields"]):
            b.PrependInt32Slot(slot, value, -1 << 31)
        options = b.EndObject()
    b.StartObject(5)
    b.PrependUint32Slot(0, op["opcode"], 0)
    b.PrependUOffsetTRelativeSlot(1, ins, 0)
    b.PrependUOffsetTRelativeSlot(2, outs, 0)
    if options is not None:
        b.PrependUint8Slot(3, op["options"]["type"], 0)
        b.PrependUOffsetTRelativeSlot(4, options, 0)
    return b.EndObject()


def tflite_bytes(spec: dict | None = None, **overrides) -> bytes:
    """A .tflite flatbuffer from a spec shaped like ``TINY_MODEL`` (``overrides`` replace its keys).

    ``subgraphs: 0`` writes none; ``identifier`` replaces ``TFL3``.
    """
    import flatbuffers

    spec = dict(spec or TINY_MODEL, **overrides)
    b = flatbuffers.Builder(1024)
    tensors = [_fb_tensor(b, t) for t in spec["tensors"]]
    operators = [_fb_operator(b, op) for op in spec["operators"]]
    subgraphs = []
    for _ in range(spec.get("subgraphs", 1)):
        vectors = (_fb_tables(b, tensors), _fb_ints(b, spec["inputs"]), _fb_ints(b, spec["outputs"]),
                   _fb_tables(b, operators))
        b.StartObject(5)
        for slot, vector in enumerate(vectors):
            b.PrependUOffsetTRelativeSlot(slot, vector, 0)
        subgraphs.append(b.EndObject())
    codes = []
    for code in spec["codes"]:
        b.StartObject(4)
        b.PrependInt8Slot(0, min(code, 127), 0)
        b.PrependInt32Slot(2, 1, 0)
        b.PrependInt32Slot(3, code, 0)
        codes.append(b.EndObject())
    buffers = []
    for size in spec["buffers"]:
        data = _fb_ints(b, [0] * size, "B") if size else None
        b.StartObject(3)
        if data is not None:
            b.PrependUOffsetTRelativeSlot(0, data, 0)
        buffers.append(b.EndObject())
    vectors = (_fb_tables(b, codes), _fb_tables(b, subgraphs), b.CreateString("tiny"), _fb_tables(b, buffers))
    b.StartObject(5)
    b.PrependUint32Slot(0, 3, 0)
    for slot, vector in zip((1, 2, 3, 4), vectors):
        b.PrependUOffsetTRelativeSlot(slot, vector, 0)
    b.Finish(b.EndObject(), file_identifier=spec.get("identifier", "TFL3").encode("ascii"))
    return bytes(b.Output())


def tflite_model(path: Path, **overrides) -> None:
    """A tiny .tflite (``TINY_MODEL`` with ``overrides``), e.g. ``{inputs: [99]}`` or a tensor's shape."""
    path.write_bytes(tflite_bytes(**overrides))


# Keras model files spelled as data (h5py and zipfile only, no TensorFlow): the config is what matters, the
# weights are left out, so a file the tool accepts would still fail to load -- these cases must be refused first.
def _layer(cls: str, name: str, **config) -> dict:
    return {"class_name": cls, "name": name, "config": dict(name=name, **config), "inbound_nodes": []}


def keras_config(layer: str = "Dense", **config) -> dict:
    """A functional model config: an input layer, then one layer of class ``layer``."""
    return {"class_name": "Functional", "config": {"name": "m", "layers": [
        _layer("InputLayer", "input_1", batch_input_shape=[None, 4]), _layer(layer, "suspect", **config)],
        "input_layers": [["input_1", 0, 0]], "output_layers": [["suspect", 0, 0]]}}


def keras_h5(path: Path, layer: str | None = "Dense", config: dict | None = None, raw: str | None = None) -> None:
    """An HDF5 file with a ``model_config`` attribute (``layer: null`` writes none, ``raw`` writes it as is)."""
    import json

    import h5py

    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = "2.15.0"
        if raw is not None:
            f.attrs["model_config"] = raw
        elif layer is not None:
            f.attrs["model_config"] = json.dumps(keras_config(layer, **(config or {})))


def keras_zip(path: Path, layer: str | None = "Dense", config: dict | None = None, raw: str | None = None,
              node: dict | None = None) -> None:
    """A zip with ``config.json`` (``layer: null`` writes a zip without one; ``node`` adds keys to the layer)."""
    import json

    with zipfile.ZipFile(path, "w") as z:
        z.writestr("metadata.json", '{"keras_version": "2.15.0"}')
        if raw is not None:
            z.writestr("config.json", raw)
        elif layer is not None:
            model = keras_config(layer, **(config or {}))
            model["config"]["layers"][1].update(node or {})
            z.writestr("config.json", json.dumps(model))


def _proto(field: int, payload: bytes) -> bytes:
    def varint(n: int) -> bytes:
        out = b""
        while True:
            out += bytes([(n & 0x7F) | (0x80 if n > 0x7F else 0)])
            n >>= 7
            if not n:
                return out
    return varint(field << 3 | 2) + varint(len(payload)) + payload


def savedmodel_dir(path: Path, layer: str | None = "Dense", config: dict | None = None) -> None:
    """A SavedModel folder whose keras_metadata.pb names ``layer`` (``layer: null``: no keras_metadata.pb)."""
    import json

    path.mkdir()
    (path / "saved_model.pb").write_bytes(b"\x08\x01")
    if layer is None:
        return
    nodes = [{"class_name": "Functional", "name": "m", "config": {"name": "m"}},
             {"class_name": layer, "name": "suspect", "config": dict(name="suspect", **(config or {}))}]
    data = b"".join(_proto(1, _proto(3, f"root.layer-{i}".encode()) + _proto(5, json.dumps(n).encode()))
                    for i, n in enumerate(nodes))
    (path / "keras_metadata.pb").write_bytes(data)


def keras_lambda_h5(path: Path, marker: str = "ran.txt") -> None:
    """A real .h5 (saved by tf_keras) whose Lambda layer writes ``marker`` (beside ``path``) when it runs.

    Needs TensorFlow.
    """
    import os

    marker = str(path.parent / marker)
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    import tf_keras as keras

    def side_effect(x):
        with open(marker, "w", encoding="utf-8") as f:
            f.write("code from the model file ran")
        return x

    inp = keras.Input((4,))
    model = keras.Model(inp, keras.layers.Dense(2)(keras.layers.Lambda(side_effect, name="side_effect")(inp)))
    model.save(path)
    os.remove(marker)  # building the model ran it once; only a load may write it again


def saved_as(path: Path, builder: str, name: str, **args) -> None:
    """Run builder ``builder`` on ``name`` in ``path``'s folder, so the file gets the name (and suffix) given.

    NOTE: tests/test_bad_inputs.py's ``_make`` passes ``{tmp}/<builder name>`` to a builder instead of
    ``{tmp}/<to>``; this works either way: ``{build: saved_as, to: saved_as, args: {builder: ..., name: ...}}``.
    """
    globals()[builder](path.parent / name, **args)


# --- data files for `run` (tests/bad_inputs/run.yaml) -----------------------------------------------------

def _array(spec: dict):
    """An array from ``{shape, dtype, fill, set: {"i,j": value}, values: [...]}`` (numpy imported here)."""
    import numpy as np

    if "values" in spec:
        return np.array(spec["values"], dtype=spec.get("dtype"))
    dtype = np.dtype(spec.get("dtype", "float32"))
    a = np.full(tuple(spec.get("shape", ())), spec.get("fill", 0), dtype=dtype)
    for index, value in (spec.get("set") or {}).items():
        a[tuple(int(i) for i in str(index).split(","))] = value
    return a


def npz_arrays(path: Path, arrays: dict, npy: str | None = None) -> None:
    """An .npz of the arrays described (see ``_array``); ``npy: KEY`` writes that one array as a plain .npy
    file instead (the wrong kind of file)."""
    import numpy as np

    built = {key: _array(spec) for key, spec in arrays.items()}
    with open(path, "wb") as f:  # NOTE: a file object keeps numpy from adding a suffix to the name
        if npy:
            np.save(f, built[npy], allow_pickle=True)
        else:
            np.savez(f, **built)


def npz_members(path: Path, members: dict) -> None:
    """A zip whose members are given as text (``{"notes.txt": "hello"}``); ``x.npy`` twice via ``x.npy#2``."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about a duplicate name: that is the point
        with zipfile.ZipFile(path, "w") as z:
            for member, text in members.items():
                z.writestr(member.split("#")[0], text)


def keras_tiny(path: Path, input_shape: list | None = None, classes: int = 3) -> None:
    """A tiny float Keras classifier (``classes`` outputs; ``classes: 0`` makes an autoencoder). Needs TensorFlow."""
    import math
    import os

    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    import tf_keras as keras

    keras.utils.set_random_seed(0)
    shape = tuple(input_shape or [8])
    inp = keras.Input(shape)
    hidden = keras.layers.Dense(8, activation="relu")(keras.layers.Flatten()(inp) if len(shape) > 1 else inp)
    out = keras.layers.Dense(classes, activation="softmax")(hidden) if classes else \
        keras.layers.Reshape(shape)(keras.layers.Dense(math.prod(shape))(hidden))
    keras.Model(inp, out).save(path)

