"""The .npz data file, read safely (headers checked before any array is loaded) and checked value by value."""

from __future__ import annotations

import math
import zipfile
from pathlib import Path

import numpy as np

from advisor.files import LIMITS, MIB, check_input
from advisor.problems import Problem, ProblemError, did_you_mean, display_path
from advisor.run.steps.runctx import DATA_KEYS

NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
# NOTE: what the arrays of one file may claim once loaded, in total; checked on the member headers, so
# an archive whose member claims 4 GiB is refused before a byte of it is decompressed.
ARRAY_LIMIT = LIMITS["data"]
LABEL_MAX = 2 ** 31 - 1
SAVE_HINT = "save the arrays with numpy.savez(path, x_rep=..., x_test=..., y_test=...)"


def _p(name: str, key: str, message: str, hint: str = "") -> Problem:
    return Problem(name, 0, f"$.{key}" if key else "", message, "data", hint)


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """The arrays of an .npz file, each member's header checked before it is read; pickles are never loaded.

    Args:
        path: the user's data file.
    Returns:
        Array name (member name without ``.npy``) to array, in the file's order.
    Raises:
        ProblemError: not a regular readable file, an .npy instead of an .npz, not a zip, a member that is not
            an .npy array, a header that is malformed or claims more than ``ARRAY_LIMIT`` in total,
            object/string/record dtypes, truncated members.
    """
    name = display_path(path)
    check_input(path, "data", "data file")
    with open(path, "rb") as f:
        head = f.read(8)
    if head.startswith(NPY_MAGIC):
        raise ProblemError([_p(name, "", "is a single .npy array, not an .npz archive of named arrays", SAVE_HINT)])
    if not head.startswith(ZIP_MAGICS):
        what = "is empty" if not head else f"is not an .npz archive (no zip signature; it starts with {head[:4]!r})"
        raise ProblemError([_p(name, "", what, SAVE_HINT)])
    try:
        with zipfile.ZipFile(path) as archive:
            members = _headers(archive, name)
            return {key: _read(archive, info, name, key) for key, (info, _shape, _dtype) in members.items()}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, NotImplementedError) as exc:
        raise ProblemError([_p(name, "", f"is not a readable .npz archive: {exc}")]) from None


def _headers(archive: zipfile.ZipFile, name: str) -> dict:
    """Each member's (info, shape, dtype) from its .npy header, with every problem found in any of them."""
    problems, members, claimed, seen = [], {}, 0, set()
    for info in archive.infolist():
        key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
        if not info.filename.endswith(".npy") or info.is_dir():
            problems.append(_p(name, key, f"member '{info.filename}' is not an .npy array"))
            continue
        if key in seen:
            problems.append(_p(name, key, "appears twice in the archive"))
            continue
        seen.add(key)
        if info.flag_bits & 0x1:
            problems.append(_p(name, key, "is encrypted"))
            continue
        header = _header(archive, info, name, key)
        if isinstance(header, Problem):
            problems.append(header)
            continue
        shape, dtype, offset = header
        nbytes = math.prod(shape) * dtype.itemsize
        claimed += nbytes
        if info.file_size < offset + nbytes:
            problems.append(_p(name, key, f"is truncated: its header claims {nbytes} bytes of data, the archive "
                                          f"holds {max(info.file_size - offset, 0)}"))
        members[key] = (info, shape, dtype)
        problems += _dtype_problems(name, key, dtype)
    if claimed > ARRAY_LIMIT:
        problems.append(_p(name, "", f"claims {claimed / MIB:.1f} MiB of arrays once loaded; at most "
                                     f"{ARRAY_LIMIT // MIB} MiB are read"))
    if not members and not problems:
        problems.append(_p(name, "", "holds no arrays", SAVE_HINT))
    if problems:
        raise ProblemError(problems)
    return members


def _header(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, key: str):
    """(shape, dtype, data offset) of one member, or the Problem with its header."""
    fmt = np.lib.format
    try:
        with archive.open(info) as f:
            version = fmt.read_magic(f)
            if version == (1, 0):
                shape, _fortran, dtype = fmt.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, _fortran, dtype = fmt.read_array_header_2_0(f)
            else:
                return _p(name, key, f"uses .npy format version {version[0]}.{version[1]} (1.0 and 2.0 are read)")
            offset = f.tell()
    except (ValueError, EOFError, SyntaxError, TypeError) as exc:
        return _p(name, key, f"is not a valid .npy array: {str(exc).splitlines()[0][:160]}")
    return tuple(int(d) for d in shape), np.dtype(dtype), offset


def _dtype_problems(name: str, key: str, dtype: np.dtype) -> list[Problem]:
    """Only numbers are data: no Python objects (pickles), strings, records, dates; no complex features."""
    if dtype.hasobject:
        return [_p(name, key, "holds Python objects (dtype object); only numeric arrays are read and pickles are "
                              "never loaded")]
    if dtype.kind in "USV":
        what = {"U": "text", "S": "bytes", "V": "records or raw bytes"}[dtype.kind]
        return [_p(name, key, f"holds {what} (dtype {dtype.str}); expected numbers")]
    if dtype.kind in "mM":
        return [_p(name, key, f"holds dates or durations (dtype {dtype.str}); expected numbers")]
    if dtype.kind == "c":
        return [_p(name, key, f"holds complex numbers (dtype {dtype}); models take real values — pass the "
                              "magnitude or the real and imaginary parts as separate channels")]
    return []


def _read(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, key: str) -> np.ndarray:
    try:
        with archive.open(info) as f:
            return np.lib.format.read_array(f, allow_pickle=False)
    except (ValueError, EOFError, OSError) as exc:
        raise ProblemError([_p(name, key, f"cannot be read: {str(exc).splitlines()[0][:160]}")]) from None


def check_arrays(arrays: dict[str, np.ndarray], name: str, needed: set[str]) -> dict[str, np.ndarray]:
    """The arrays as the steps take them (inputs float32, labels int64), or every problem with them.

    Args:
        arrays: what ``read_npz`` returned.
        name: the data file as messages name it.
        needed: arrays the recipe cannot run without (``advisor.run.needs.data_needed``); ``x_rep`` is
            satisfied by ``x_train``.
    Raises:
        ProblemError: unknown names, 0-d or empty arrays, NaN or infinite inputs, labels that are not
            whole non-negative class ids in one dimension, x/y length mismatches, missing arrays.
    """
    problems = [_p(name, key, f"unknown array '{key}'{did_you_mean(key, DATA_KEYS)}",
                   "expected: " + ", ".join(DATA_KEYS)) for key in arrays if key not in DATA_KEYS]
    out = {}
    for key in DATA_KEYS:
        if key in arrays:
            value, found = (_inputs if key.startswith("x_") else _labels)(arrays[key], name, key)
            problems += found
            out[key] = value
    problems += _pairing(out, name) + _missing(out, name, needed)
    if problems:
        raise ProblemError(problems)
    return out


def _shape_problems(a: np.ndarray, name: str, key: str) -> list[Problem]:
    if a.ndim == 0:
        return [_p(name, key, "is a single value (a 0-d array); expected one row per sample")]
    if a.size == 0:
        return [_p(name, key, f"is empty (shape {a.shape})")]
    return []


def _inputs(a: np.ndarray, name: str, key: str) -> tuple[np.ndarray, list[Problem]]:
    problems = _shape_problems(a, name, key)
    if problems:
        return a, problems
    if a.ndim < 2:
        return a, [_p(name, key, f"has shape {a.shape}: expected (samples, ...) with the model's input shape "
                                 "after the first axis", "one sample of 8 values is shape (1, 8)")]
    x = a.astype(np.float32)
    bad = ~np.isfinite(x)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        count, nan = int(bad.sum()), int(np.isnan(x).sum())
        values = "1 value that is" if count == 1 else f"{count} values that are"
        return x, [_p(name, key, f"holds {values} not a finite number as float32 ({nan} NaN, {count - nan} "
                                 f"infinite or beyond the float32 range); the first is at index {first}")]
    return x, []


def _labels(a: np.ndarray, name: str, key: str) -> tuple[np.ndarray, list[Problem]]:
    problems = _shape_problems(a, name, key)
    if problems:
        return a, problems
    if a.ndim != 1:
        return a, [_p(name, key, f"has shape {a.shape}: labels must be one class id per sample in one dimension",
                      "one-hot labels? pass y.argmax(axis=1)")]
    if a.dtype.kind == "f":
        whole = np.isfinite(a) & (np.mod(a, 1) == 0)
        if not whole.all():
            i = int(np.argmin(whole))
            return a, [_p(name, key, f"labels must be whole class ids; {key}[{i}] is {a[i].item()!r}")]
    if a.dtype.kind in "fiu" and (a.min() < 0 or a.max() > LABEL_MAX):
        i = int(np.argmin(a)) if a.min() < 0 else int(np.argmax(a))
        return a, [_p(name, key, f"labels must be class ids from 0 to {LABEL_MAX}; {key}[{i}] is {a[i].item()!r}")]
    return a.astype(np.int64), []


def _pairing(data: dict, name: str) -> list[Problem]:
    problems = []
    for x, y in (("x_train", "y_train"), ("x_test", "y_test")):
        if y in data and x not in data:
            problems.append(_p(name, y, f"labels without inputs: the file has no {x}"))
        elif x == "x_test" and x in data and y not in data:
            problems.append(_p(name, y, "missing: test inputs (x_test) need their labels (y_test)"))
        elif x in data and y in data and len(data[x]) != len(data[y]):
            problems.append(_p(name, y, f"{len(data[y])} labels for {len(data[x])} samples in {x}"))
    samples = {k: tuple(v.shape[1:]) for k, v in data.items() if k.startswith("x_") and v.ndim >= 2}
    if len(set(samples.values())) > 1:
        first = next(iter(samples))
        problems += [_p(name, k, f"samples of shape {s} differ from {first}'s {samples[first]}")
                     for k, s in samples.items() if s != samples[first]]
    return problems


def _missing(data: dict, name: str, needed: set[str]) -> list[Problem]:
    have = ", ".join(sorted(data)) or "nothing"
    problems = []
    if "x_train" in needed and "x_train" not in data:
        problems.append(_p(name, "x_train", f"missing: the recipe retrains the model and needs training data "
                                            f"(x_train, plus y_train for classifiers); the file has {have}"))
    elif "y_train" in needed and "y_train" not in data:
        problems.append(_p(name, "y_train", "missing: the recipe retrains a classifier and needs the labels of "
                                            "x_train (y_train)"))
    if "x_rep" in needed and "x_rep" not in data and "x_train" not in data:
        problems.append(_p(name, "x_rep", f"missing: int8 conversion needs representative inputs (x_rep, or "
                                          f"x_train); the file has {have}"))
    return problems


def model_problems(data: dict, name: str, input_shape: tuple, classes: int | None) -> list[Problem]:
    """Data that does not fit the model: sample shapes, labels outside the classifier's outputs.

    Args:
        data: checked arrays (``check_arrays``).
        name: the data file as messages name it.
        input_shape: the model's input shape without the batch axis (``None`` matches any size).
        classes: the classifier's output count, or None for an autoencoder (labels 0 normal / 1 anomaly).
    Returns:
        One problem per array that does not fit.
    """
    problems = []
    for key in DATA_KEYS:
        value = data.get(key)
        if value is None:
            continue
        if key.startswith("x_"):
            got = tuple(value.shape[1:])
            if len(got) != len(input_shape) or any(e is not None and e != g for e, g in zip(input_shape, got)):
                problems.append(_p(name, key, f"samples of shape {got} do not match the model input {input_shape}"))
        elif classes is not None and value.max() >= classes:
            i = int(np.argmax(value))
            problems.append(_p(name, key, f"label {int(value[i])} at {key}[{i}] is outside the model's {classes} "
                                          f"classes (0..{classes - 1})"))
        elif classes is None and key == "y_test" and not np.isin(value, (0, 1)).all():
            i = int(np.argmin(np.isin(value, (0, 1))))
            problems.append(_p(name, key, f"an autoencoder's test labels are 0 (normal) or 1 (anomaly); "
                                          f"{key}[{i}] is {int(value[i])}"))
    return problems
