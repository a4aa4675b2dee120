"""TFLite Micro's tensor arena, simulated: the greedy memory plan and the persistent allocations.

The arena has two ends (tensorflow/lite/micro/micro_allocator.cc). The *head* holds the
non-persistent buffers -- every tensor without constant data -- placed by the GreedyMemoryPlanner
(tensorflow/lite/micro/memory_planner/greedy_memory_planner.cc): buffers sorted by size, largest
first (ties: the later tensor first), each put at the lowest offset where it overlaps no already
placed buffer that is alive at the same time; sizes rounded up to 16-byte alignment. The *tail*
holds what lives as long as the interpreter: one TfLiteEvalTensor per tensor, one
NodeAndRegistration per operator, TfLiteTensor structs and quantization data for the model's inputs
and outputs, and each kernel's persistent op data (per-channel multipliers and shifts for
convolutions and fully connected layers).

The tail constants below were measured with the installed tflite-micro interpreter's
RecordingMicroAllocator on one-op and reference models (tests/test_profile.py re-measures them).
They are the sizes of a 64-bit host build, which is what the Python interpreter is; a 32-bit
microcontroller build has smaller structs (pointers are 4 bytes), so on a device the tail is a
little smaller and the estimate errs on the safe side.
"""

from __future__ import annotations

from dataclasses import dataclass

from advisor.profile.tflite import Graph

ALIGNMENT = 16
EVAL_TENSOR_BYTES = 24  # TfLiteEvalTensor
NODE_BYTES = 64  # NodeAndRegistration
IO_TENSOR_BYTES = 64 + 32  # a persistent TfLiteTensor plus its quantization data, per model input/output
GRAPH_FIXED_BYTES = 528  # interpreter, graph and subgraph bookkeeping
GRAPH_PER_TENSOR_BYTES = 8  # pointer arrays that grow with the tensor count
GRAPH_PER_OP_BYTES = 4
OP_DATA_FIXED_BYTES = 16
# Persistent op data per kernel (reference kernels, int8): fixed struct bytes, plus bytes per output
# channel for per-channel quantized weights (an int32 multiplier and an int32 shift).
OP_DATA_BYTES = {"CONV_2D": 80, "DEPTHWISE_CONV_2D": 80, "FULLY_CONNECTED": 72, "TRANSPOSE_CONV": 80,
                 "AVERAGE_POOL_2D": 32, "MAX_POOL_2D": 32, "SOFTMAX": 80, "ADD": 60, "SUB": 60, "MUL": 48,
                 "CONCATENATION": 64, "STRIDED_SLICE": 84, "MEAN": 64, "LOGISTIC": 32, "TANH": 32,
                 "QUANTIZE": 32, "DEQUANTIZE": 32, "HARD_SWISH": 48, "LEAKY_RELU": 32, "PAD": 32}
PER_CHANNEL_OPS = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV"}
PER_CHANNEL_BYTES = 8
ALLOCATION_SLACK_BYTES = 4  # average alignment loss per persistent allocation


def align(n: int) -> int:
    return (n + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT


@dataclass(frozen=True)
class Buffer:
    tensor: int
    size: int  # aligned bytes
    first: int  # index of the op that creates it (0 for model inputs)
    last: int  # index of the last op that reads it (the last op for model outputs)
    offset: int = 0


@dataclass(frozen=True)
class Plan:
    buffers: tuple[Buffer, ...]
    head_bytes: int  # what the greedy planner needs
    lower_bound_bytes: int  # the most bytes alive at once: no planner can do better
    live_per_op: tuple[int, ...]  # bytes alive while each operator runs
    tail_bytes: int
    tail_parts: dict

    @property
    def arena_bytes(self) -> int:
        return self.head_bytes + self.tail_bytes


def lifetimes(graph: Graph) -> list[Buffer]:
    """One buffer per non-constant tensor, with the span of operators during which it must exist."""
    last_op = len(graph.operators) - 1
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for t in graph.inputs:
        first[t] = 0
    for op in graph.operators:
        for t in op.outputs:
            first.setdefault(t, op.index)
            last[t] = max(last.get(t, op.index), op.index)
        for t in op.inputs:
            if t < 0:
                continue
            first.setdefault(t, op.index)
            last[t] = max(last.get(t, op.index), op.index)
    for t in graph.outputs:
        last[t] = last_op
    buffers = []
    for t in sorted(first):
        tensor = graph.tensors[t]
        if tensor.has_data:
            continue
        if tensor.is_variable:
            buffers.append(Buffer(t, align(tensor.nbytes), 0, last_op))
            continue
        buffers.append(Buffer(t, align(tensor.nbytes), first[t], last.get(t, first[t])))
    return buffers


def greedy_plan(buffers: list[Buffer]) -> tuple[list[Buffer], int]:
    """TFLM's greedy placement: largest first, lowest offset that clashes with no live neighbour.

    NOTE: ties matter. TFLM fills its sort array from the end (buffer i at position n-1-i) and then
    bubble-sorts by size, which is stable, so among equal sizes the later tensor is placed first.
    """
    order = sorted(buffers, key=lambda b: (-b.size, -b.tensor))
    placed: list[Buffer] = []
    for b in order:
        clashes = sorted((p for p in placed if p.first <= b.last and b.first <= p.last), key=lambda p: p.offset)
        offset = 0
        for p in clashes:
            if offset + b.size <= p.offset:
                break
            offset = max(offset, p.offset + p.size)
        placed.append(Buffer(b.tensor, b.size, b.first, b.last, offset))
    head = max((p.offset + p.size for p in placed), default=0)
    return sorted(placed, key=lambda p: p.tensor), head


def tail_estimate(graph: Graph) -> dict:
    """Persistent bytes by category (64-bit host sizes; see the module docstring)."""
    n_tensors, n_ops = len(graph.tensors), len(graph.operators)
    op_data = OP_DATA_FIXED_BYTES
    allocations = 1
    for op in graph.operators:
        op_data += OP_DATA_BYTES.get(op.op, 0)
        allocations += 1
        if op.op in PER_CHANNEL_OPS and len(op.inputs) > 1 and op.inputs[1] >= 0:
            shape = graph.tensors[op.inputs[1]].shape
            channels = (shape[-1] if op.op == "DEPTHWISE_CONV_2D" else shape[0]) if shape else 0
            op_data += PER_CHANNEL_BYTES * channels
            allocations += 2
    parts = {
        "eval_tensors": EVAL_TENSOR_BYTES * n_tensors,
        "nodes": NODE_BYTES * n_ops,
        "io_tensors": IO_TENSOR_BYTES * (len(graph.inputs) + len(graph.outputs)),
        "op_data": op_data + ALLOCATION_SLACK_BYTES * allocations,
        "graph": GRAPH_FIXED_BYTES + GRAPH_PER_TENSOR_BYTES * n_tensors + GRAPH_PER_OP_BYTES * n_ops,
    }
    return parts


def plan_arena(graph: Graph) -> Plan:
    """The planned head, the lower bound, bytes live per operator, and the persistent tail."""
    buffers, head = greedy_plan(lifetimes(graph))
    live = tuple(sum(b.size for b in buffers if b.first <= i <= b.last) for i in range(len(graph.operators)))
    parts = tail_estimate(graph)
    return Plan(tuple(buffers), head, max(live, default=0), live, sum(parts.values()), parts)
