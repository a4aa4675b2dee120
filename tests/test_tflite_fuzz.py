"""Fuzz the .tflite reader: mutated, truncated, spliced and hand-built models give a sane profile or a ProblemError.

Never another exception, never a hang (each example has a deadline), never a NaN or a negative figure.
Derandomized and database-free, so every run tries the same examples.
"""

from __future__ import annotations

import json
import struct
import sys
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advisor.problems import ProblemError
from advisor.profile.model import ModelProfile, profile_graph
from advisor.profile.tflite import parse_tflite

from conftest import FIXTURES

sys.path.insert(0, str(Path(__file__).resolve().parent / "bad_inputs"))
import builders  # noqa: E402

NAME = "fuzzed.tflite"
SEEDS = [(FIXTURES / "models" / "ds-cnn-kws.tflite").read_bytes(),
         (FIXTURES / "models" / "conv-maxpool.tflite").read_bytes(),
         builders.tflite_bytes()]
# NOTE: values a flatbuffer offset, length or index turns dangerous with: zero, small, sign bits, the file size.
INTERESTING = [0, 1, 2, 3, 4, 7, 8, 16, 255, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFFFFFE,
               46_000, 46_096, 1 << 20]
FUZZ = settings(max_examples=300, deadline=timedelta(seconds=2), derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def check(data: bytes) -> ModelProfile | None:
    """Profile ``data``: a ProblemError naming the file is fine; anything else fails the test."""
    try:
        profile = profile_graph(parse_tflite(data, NAME), NAME)
    except ProblemError as exc:
        assert exc.problems and all(p.file == NAME and p.message for p in exc.problems)
        return None
    figures = json.loads(json.dumps(profile.as_dict(), allow_nan=False))  # NOTE: raises on NaN / Infinity
    numbers = list(_numbers(figures))
    assert all(n >= 0 for n in numbers), figures
    plan = profile.plan
    assert plan.lower_bound_bytes <= plan.head_bytes <= sum(b.size for b in plan.buffers)
    assert plan.arena_bytes >= plan.lower_bound_bytes and plan.tail_bytes > 0
    assert len(profile.rows) == len(plan.live_per_op) > 0
    return profile


def _numbers(value):
    if isinstance(value, bool):
        return
    if isinstance(value, (int, float)):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _numbers(v)
    elif isinstance(value, list):
        for v in value:
            yield from _numbers(v)


def test_the_seeds_profile():
    assert all(check(seed) is not None for seed in SEEDS)


@FUZZ
@given(st.sampled_from(SEEDS), st.lists(st.tuples(st.floats(0, 1), st.sampled_from(INTERESTING)), min_size=1,
                                        max_size=4))
def test_32_bit_words_overwritten(seed: bytes, patches):
    data = bytearray(seed)
    for where, value in patches:
        at = int(where * (len(data) - 4)) & ~3
        struct.pack_into("<I", data, at, value)
    check(bytes(data))


@FUZZ
@given(st.sampled_from(SEEDS), st.floats(0, 1), st.binary(min_size=1, max_size=16))
def test_bytes_overwritten(seed: bytes, where: float, noise: bytes):
    data = bytearray(seed)
    at = int(where * len(data))
    data[at:at + len(noise)] = noise
    check(bytes(data[:len(seed)]))


@FUZZ
@given(st.sampled_from(SEEDS), st.floats(0, 1))
def test_truncated(seed: bytes, keep: float):
    profile = check(seed[:int(keep * (len(seed) - 1))])
    if profile is not None:  # only trailing padding was cut: the figures must not change
        full = check(seed)
        assert profile.as_dict() | {"file_bytes": 0} == full.as_dict() | {"file_bytes": 0}


@FUZZ
@given(st.sampled_from(SEEDS), st.sampled_from(SEEDS), st.floats(0, 1), st.floats(0, 1))
def test_spliced(a: bytes, b: bytes, cut_a: float, cut_b: float):
    check(a[:int(cut_a * len(a))] + b[int(cut_b * len(b)):])


INDEX = st.one_of(st.integers(-3, 6), st.sampled_from([99, -(1 << 31), (1 << 31) - 1]))
DIM = st.one_of(st.integers(-2, 8), st.sampled_from([0, 1 << 16, (1 << 31) - 1, -(1 << 31)]))


@FUZZ
@given(st.lists(DIM, max_size=5), st.lists(INDEX, max_size=4), st.lists(INDEX, max_size=2),
       st.lists(INDEX, max_size=2), st.integers(-1, 260), st.integers(0, 6), st.integers(0, 24))
def test_hand_built_models(shape, op_inputs, inputs, outputs, code, buffer, dtype):
    tensors = [dict(t) for t in builders.TINY_MODEL["tensors"]]
    tensors[0] = {"shape": shape, "buffer": buffer, "type": dtype, "name": "input"}
    operators = [{"opcode": 0, "inputs": op_inputs, "outputs": [2]}]
    data = builders.tflite_bytes(tensors=tensors, operators=operators, inputs=inputs, outputs=outputs,
                                 codes=[max(code, 0)])
    profile = check(data)
    if profile is not None:  # what the reader accepted must be what was written
        assert profile.inputs == [{"name": ["input", "weights", "output"][i], "shape": list(tensors[i]["shape"]),
                                   "dtype": profile.inputs[k]["dtype"]} for k, i in enumerate(inputs)]
        assert all(0 <= i < 3 for i in inputs + outputs) and all(-1 <= i < 3 for i in op_inputs)
        assert all(d >= 0 for d in shape)
