"""Profile a model: per-operator MACs and bytes, the TFLM arena, flash, and latency/energy on a board.

`.tflite` files are read directly (advisor.profile.tflite, no TensorFlow), `.onnx` files with the onnx package
(advisor.profile.onnx_profile, no TensorFlow). Keras and SavedModel files are
checked for code (advisor.profile.keras_io), then converted to a full-integer .tflite (TensorFlow imported
inside ``convert_keras``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from advisor.profile.arena import Plan, plan_arena
from advisor.perf import energy_mj, ext_ram_counted, kernel_for, model_latency_ms, runtime_kb
from advisor.kb.base import KnowledgeBase
from advisor.files import check_input
from advisor.problems import Problem, ProblemError, did_you_mean, display_path
from advisor.profile.tflite import Graph, Operator, parse_tflite, read_tflite

KIB = 1024.0
MAC_OPS = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV", "BATCH_MATMUL"}


@dataclass(frozen=True)
class OpRow:
    index: int
    op: str
    dtypes: tuple[str, ...]
    output_shape: tuple[int, ...]
    params: dict
    macs: int
    other_ops: int  # pooling / element-wise work, counted per output element (x window for pools)
    weight_bytes: int
    input_bytes: int
    output_bytes: int
    live_bytes: int  # arena bytes alive while it runs


@dataclass
class ModelProfile:
    name: str
    file_bytes: int
    rows: list[OpRow]
    plan: Plan
    inputs: list[dict]
    outputs: list[dict]
    weight_bytes: int
    activation_dtype: str
    converted_from: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def macs(self) -> int:
        return sum(r.macs for r in self.rows)

    @property
    def other_ops(self) -> int:
        return sum(r.other_ops for r in self.rows)

    @property
    def ops(self) -> tuple[str, ...]:
        return tuple(sorted({r.op for r in self.rows}))

    def as_dict(self) -> dict:
        """JSON-ready figures (schemas/profile.schema.json)."""
        plan = self.plan
        return {
            "model": self.name, "file_bytes": self.file_bytes, "converted_from": self.converted_from,
            "activation_dtype": self.activation_dtype, "inputs": self.inputs, "outputs": self.outputs,
            "totals": {"operators": len(self.rows), "macs": self.macs, "other_ops": self.other_ops,
                       "weight_bytes": self.weight_bytes},
            "arena": {"planned_bytes": plan.arena_bytes, "head_bytes": plan.head_bytes,
                      "tail_bytes": plan.tail_bytes, "tail_parts": dict(plan.tail_parts),
                      "lower_bound_bytes": plan.lower_bound_bytes},
            "heaviest": [r.index for r in self.heaviest()],
            "memory_peak_op": max(self.rows, key=lambda r: (r.live_bytes, -r.index)).index,
            "operators": [{"index": r.index, "op": r.op, "dtypes": list(r.dtypes),
                           "output_shape": list(r.output_shape),
                           "params": {k: list(v) if isinstance(v, tuple) else v for k, v in r.params.items()},
                           "macs": r.macs, "other_ops": r.other_ops, "weight_bytes": r.weight_bytes,
                           "input_bytes": r.input_bytes, "output_bytes": r.output_bytes,
                           "live_bytes": r.live_bytes} for r in self.rows],
            "notes": list(self.notes),
        }

    def heaviest(self, n: int = 3) -> list[OpRow]:
        """The layers that dominate compute."""
        return sorted(self.rows, key=lambda r: (-r.macs, r.index))[:n]


def profile_graph(graph: Graph, name: str) -> ModelProfile:
    """Per-op figures and the arena plan for a parsed model.

    Raises:
        ProblemError: dynamic shapes, or several subgraphs (not planned by this simulation).
    """
    dynamic = [t.name or str(t.index) for t in graph.tensors if t.dynamic and not t.has_data]
    if dynamic:
        raise ProblemError([Problem(name, 0, "", f"dynamic tensor shapes ({', '.join(dynamic[:3])}): TFLite Micro "
                                    "needs static shapes; fix the batch size and input shape before converting",
                                    "model")])
    if not graph.operators:
        raise ProblemError([Problem(name, 0, "", "the model has no operators", "model")])
    plan = plan_arena(graph)
    rows = []
    for op in graph.operators:
        ins = [graph.tensors[t] for t in op.inputs if t >= 0]
        outs = [graph.tensors[t] for t in op.outputs]
        macs, other = _work(op, graph)
        rows.append(OpRow(op.index, op.op, tuple(sorted({t.dtype for t in ins + outs})),
                          outs[0].shape if outs else (), dict(op.options), macs, other,
                          sum(t.data_bytes for t in ins if t.has_data),
                          sum(t.nbytes for t in ins if not t.has_data), sum(t.nbytes for t in outs),
                          plan.live_per_op[op.index]))
    def io(indices):
        return [{"name": graph.tensors[i].name, "shape": list(graph.tensors[i].shape),
                 "dtype": graph.tensors[i].dtype} for i in indices]
    activations = [graph.tensors[t].dtype for op in graph.operators for t in op.outputs]
    dominant = max(set(activations), key=activations.count) if activations else "INT8"
    notes = []
    if graph.subgraphs > 1:
        notes.append(f"{graph.subgraphs} subgraphs: only the first is planned")
    return ModelProfile(name, graph.file_bytes, rows, plan, io(graph.inputs), io(graph.outputs),
                        sum(t.data_bytes for t in graph.tensors if t.has_data), dominant, notes=notes)


def _work(op: Operator, graph: Graph) -> tuple[int, int]:
    """(MACs, other element operations) of one operator, from its tensor shapes."""
    t = graph.tensors
    out = t[op.outputs[0]] if op.outputs else None
    out_elems = out.elements if out else 0
    weights = t[op.inputs[1]] if len(op.inputs) > 1 and op.inputs[1] >= 0 else None
    if op.op == "CONV_2D" and weights is not None and len(weights.shape) == 4:
        _oc, kh, kw, ic = weights.shape
        return out_elems * kh * kw * ic, 0
    if op.op == "DEPTHWISE_CONV_2D" and weights is not None and len(weights.shape) == 4:
        return out_elems * weights.shape[1] * weights.shape[2], 0
    if op.op == "FULLY_CONNECTED" and weights is not None and len(weights.shape) == 2:
        return out_elems * weights.shape[1], 0
    if op.op == "TRANSPOSE_CONV" and len(op.inputs) > 2 and min(op.inputs[1:3]) >= 0:
        w, x = t[op.inputs[1]], t[op.inputs[2]]
        if len(w.shape) == 4:
            return x.elements * w.shape[0] * w.shape[1] * w.shape[2], 0
    if op.op == "BATCH_MATMUL" and op.inputs and op.inputs[0] >= 0:
        return out_elems * (t[op.inputs[0]].shape[-1] if t[op.inputs[0]].shape else 1), 0
    if "filter" in op.options:
        fh, fw = op.options["filter"]
        return 0, out_elems * fh * fw
    if op.op in ("RESHAPE", "SQUEEZE", "EXPAND_DIMS", "SHAPE"):
        return 0, 0
    return 0, out_elems


def load_model(path: Path | str, shape: tuple[int, ...] = ()) -> ModelProfile:
    """Profile a model file: .tflite and .onnx directly; .keras / .h5 / SavedModel via a TensorFlow conversion.

    Args:
        path: the model file or SavedModel folder.
        shape: an .onnx model's input shape without the batch axis, fixing its dynamic dimensions (the
            questionnaire's ``input.shape``); ignored for other formats.

    Raises:
        ProblemError: missing, unreadable, not a model, truncated, dynamic shapes.
    """
    path = Path(path)
    name = display_path(path)
    check_input(path, "model", "model file", allow_dir=True)
    if path.suffix.lower() == ".onnx" and not path.is_dir():
        from advisor.profile.onnx_profile import onnx_graph

        graph, notes = onnx_graph(path, tuple(shape))
        profile = profile_graph(graph, name)
        profile.converted_from = "onnx"
        profile.notes.extend(notes)
        return profile
    if path.is_dir() or path.suffix.lower() in (".keras", ".h5", ".hdf5"):
        data = convert_keras(path)
        profile = profile_graph(parse_tflite(data, name), name)
        profile.converted_from = "savedmodel" if path.is_dir() else path.suffix.lower().lstrip(".")
        profile.notes.append("converted to full-integer int8 with random calibration data (sizes, MACs and "
                             "arena do not depend on the calibration)")
        return profile
    return profile_graph(read_tflite(path), name)


def convert_keras(path: Path) -> bytes:
    """Convert a Keras file or SavedModel folder to an int8 .tflite (imports TensorFlow).

    Args:
        path: a ``.keras`` / ``.h5`` file or a SavedModel folder.
    Returns:
        The int8 .tflite flatbuffer.
    Raises:
        ProblemError: not a Keras model, a layer that would run code from the file (see
            ``advisor.profile.keras_io``), a dynamic input shape, or the conversion fails.
    """
    from advisor.profile.keras_io import load_keras_model
    from advisor.profile.zoo import to_int8

    name = display_path(path)
    model = load_keras_model(path)
    shape = getattr(model, "input_shape", None)
    if not isinstance(shape, tuple):
        raise ProblemError([Problem(name, 0, "", f"input shape {shape}: profiling converts models with one "
                                    "input", "model")])
    if any(d is None for d in shape[1:]):
        raise ProblemError([Problem(name, 0, "", f"dynamic input shape {shape}: TFLite Micro needs a fixed "
                                    "shape", "model")])
    try:
        return to_int8(model)
    except Exception as exc:  # noqa: BLE001 - the converter raises many types for models it cannot convert
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        raise ProblemError([Problem(name, 0, "", f"cannot load or convert the model: {first}", "model")]) \
            from None


@dataclass(frozen=True)
class BoardEstimate:
    board: str
    framework: str
    kernel: str
    throughput: str
    clock_mhz: float
    latency_ms: float
    energy_mj: float  # 0.0 when the board publishes no active power
    arena_kb: float
    ram_kb: float
    ram_avail_kb: float
    flash_kb: float
    flash_avail_kb: float
    runtime_flash_known: bool


def on_board(profile: ModelProfile, kb: KnowledgeBase, board_id: str, framework_id: str | None) -> BoardEstimate:
    """Latency, energy, RAM and flash of the profiled model on a board with a framework.

    Raises:
        ProblemError: unknown board or framework ids (with suggestions).
    """
    board = kb.boards.get(board_id)
    if board is None:
        raise ProblemError([Problem("--board", 0, "", f"unknown board '{board_id}'{did_you_mean(board_id, kb.boards)}",
                                    "usage")])
    if framework_id is None:
        framework_id = "tflite-micro" if "tflite-micro" in board.frameworks else board.frameworks[0]
    fw = kb.frameworks.get(framework_id)
    if fw is None:
        raise ProblemError([Problem("--framework", 0, "", f"unknown framework '{framework_id}'"
                                    f"{did_you_mean(framework_id, kb.frameworks)}", "usage")])
    floating = profile.activation_dtype not in ("INT8", "UINT8", "INT16")
    kernel = "reference" if floating else kernel_for(board, fw)
    core = board.mcu.main_core
    latency, latency_basis = model_latency_ms(profile, board, fw, None, kb, floating=floating)
    flash_rt, ram_rt = runtime_kb(fw, kb)
    total_flash = board.flash_kb + board.ext_flash_kb
    estimate = BoardEstimate(board.id, fw.id, kernel, latency_basis, core.clock_mhz, latency,
                             energy_mj(latency, board, kernel == "npu"), profile.plan.arena_bytes / KIB,
                             profile.plan.arena_bytes / KIB + ram_rt,
                             board.sram_kb + (board.ext_ram_kb if ext_ram_counted(board, fw) else 0.0),
                             profile.file_bytes / KIB + flash_rt, float(total_flash), bool(flash_rt))
    bad = [k for k, v in vars(estimate).items() if isinstance(v, float) and not (math.isfinite(v) and v >= 0)]
    if bad:  # NOTE: JSON has no NaN or Infinity; a figure like that means a knowledge-base entry is off
        raise ProblemError([Problem(board.id, 0, "", f"the estimate on this board is not a finite figure "
                                    f"({', '.join(bad)}): check its clock, power and the throughput table", "model")])
    return estimate
