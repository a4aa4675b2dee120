"""Per-operator-class latency fit on MLPerf Tiny v0.5-v1.0, and its check on later rounds (bench only).

Model, per stack S (core, framework, board, clock) and benchmark i:
    cycles_i = a_S * (conv_i + beta_pw * (pointwise_i + depthwise_i + elementwise_i) + beta_fc * fc_i
                      + omega * operators_i)
so conv runs at 1/a_S MACs per cycle, 1x1/depthwise at 1/(a_S beta_pw), fully connected at 1/(a_S beta_fc),
and each operator costs a_S * omega cycles. The class ratios (beta, omega) are shared by the stacks of one
kernel-library group and fitted jointly with non-negative least squares on relative error; a_S is each
stack's own scale. Depthwise and element-wise work share the 1x1 rate because the four benchmark models
cannot separate them: KWS and VWW carry depthwise and 1x1 MACs in nearly the same ratio (about 1:7), and
element-wise work is under 0.3 % of any model's. A group with a single stack (4 rows, too few for its own
ratios) takes fixed per-class ratios from data/class_ratio_priors.yaml where that file has a measured set for
it (TFLM reference kernels timed on the host; Silicon Labs' per-layer MVP profiles), and otherwise the ratios
pooled over every other CPU row, as stated in its output; only its scale is then fitted on its rows.

Run through bench/profile_accuracy.py (``--latency-only`` skips the TensorFlow parts).
"""

from __future__ import annotations

import csv
import math
import statistics
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from advisor import perf

DATA = Path(__file__).resolve().parent / "data"
VALIDATION = DATA / "mlperf_tiny_validation.csv"
PRIORS = DATA / "class_ratio_priors.yaml"
# the order of a full ratio vector: perf.OpMix's classes, then the per-operator overhead (conv-MAC times)
CLASS_ORDER = ("conv", "pointwise", "depthwise", "elementwise", "fully_connected", "operators")
BENCH_MODEL = {"kws": "ds-cnn-kws", "vww": "mobilenet-v1-025-vww", "ic": "resnet-8-ic", "ad": "fc-autoencoder-ad"}
CORES = {"Cortex-M4": "cortex-m4", "Cortex-M33": "cortex-m33", "Cortex-M7": "cortex-m7"}
# framework family -> (framework id, kernel family, NPU kind, fit group)
STACKS = {"TFLM": ("tflite-micro", "reference", None, "tflm-reference"),
          "TFLM + CMSIS-NN": ("tflite-micro", "cmsis-nn", None, "cmsis-nn"),
          "microTVM + CMSIS-NN": ("microtvm", "cmsis-nn", None, "cmsis-nn"),
          "microTVM": ("microtvm", "vendor", None, "microtvm"),
          "X-CUBE-AI": ("st-edge-ai", "vendor", None, "x-cube-ai"),
          "Plumerai Inference Engine": ("plumerai-inference-engine", "vendor", None, "plumerai"),
          "Plumerai": ("plumerai-inference-engine", "vendor", None, "plumerai"),
          "TFLM + Silicon Labs MVP kernels": ("tflite-micro", "npu", "silabs-mvp", "silabs-mvp")}


@dataclass
class Row:
    stack: tuple
    group: str
    bench: str
    mix: perf.OpMix
    cycles: float
    clock: float
    latency: float
    framework: str
    kernel: str
    npu: str | None
    core: str
    version: str | None = None
    board: str = ""
    source: str = ""


def mix_for(bench: str, kb) -> perf.OpMix:
    w = kb.reference_models[BENCH_MODEL[bench]].work
    return perf.OpMix(w.conv, w.pointwise, w.depthwise, w.fully_connected, w.elementwise, w.operators)


def calibration_rows(path: Path, kb) -> list[Row]:
    out = []
    for r in csv.DictReader(path.open()):
        core, stack = CORES.get(r["core_family"]), STACKS.get(r["framework_family"])
        if not core or not stack or r["benchmark"] not in BENCH_MODEL or not r["latency_ms"]:
            continue
        clock, latency = float(r["clock_mhz"]), float(r["latency_ms"])
        version = _version(r["inference_framework"]) if stack[0] == "st-edge-ai" else None
        out.append(Row((core, r["framework_family"], r["board"], clock), stack[3], r["benchmark"],
                       mix_for(r["benchmark"], kb), latency * 1e-3 * clock * 1e6, clock, latency, stack[0],
                       stack[1], stack[2], core, version, r["board"], r["source"]))
    return out


def _version(text: str) -> str | None:
    import re

    m = re.search(r"(\d+\.\d+(?:\.\d+)?)", text or "")
    return m.group(1) if m else None


def _features(m: perf.OpMix) -> np.ndarray:
    return np.array([m.conv, m.pointwise + m.depthwise + m.elementwise, m.fully_connected, m.operators], float)


def _features6(m: perf.OpMix) -> np.ndarray:
    return np.array([getattr(m, c) for c in CLASS_ORDER], float)


def _expand(beta: np.ndarray) -> np.ndarray:
    """A fitted (conv, 1x1/depthwise/element-wise, fc, per-op) vector as a full per-class vector."""
    return np.array([beta[0], beta[1], beta[1], beta[1], beta[2], beta[3]])


def load_priors(path: Path = PRIORS) -> dict[str, tuple[np.ndarray, str]]:
    """group -> (full ratio vector, basis) from the priors file; ``layers`` entries are computed from their
    per-layer CSV (sum of layer time over sum of MACs per class, relative to the conv class)."""
    import yaml

    out = {}
    for group, entry in (yaml.safe_load(path.read_text()) or {}).items():
        if "layers" in entry:
            time_ms: dict[str, float] = {}
            macs: dict[str, float] = {}
            for r in csv.DictReader((path.parent / entry["layers"]).open()):
                time_ms[r["class"]] = time_ms.get(r["class"], 0.0) + float(r["time_ms"])
                macs[r["class"]] = macs.get(r["class"], 0.0) + float(r["macs"])
            per_mac = {c: time_ms[c] / macs[c] for c in macs}
            ratios = {c: v / per_mac["conv"] for c, v in per_mac.items() if c != "conv"}
        else:
            ratios = entry["ratios"]
        out[group] = (np.array([1.0] + [float(ratios.get(c, 0.0)) for c in CLASS_ORDER[1:]]), entry["basis"])
    return out


def _nnls(a: np.ndarray, y: np.ndarray) -> np.ndarray:
    from scipy.optimize import nnls

    return nnls(a, y)[0]


def fit(rows: list[Row], pooled: np.ndarray | None = None, iters: int = 40):
    """(beta, a per stack): shared class ratios (conv = 1) and each stack's scale; ``pooled`` fixes beta."""
    stacks = sorted({r.stack for r in rows})
    beta = pooled.copy() if pooled is not None else np.array([1.0, 1.5, 1.5, 0.0])
    scale = {}
    for _ in range(1 if pooled is not None else iters):
        for s in stacks:
            mine = [r for r in rows if r.stack == s]
            scale[s] = math.exp(statistics.mean(math.log(r.cycles / (_features(r.mix) @ beta)) for r in mine))
        if pooled is not None:
            break
        a = np.array([_features(r.mix) * scale[r.stack] / r.cycles for r in rows])
        new = _nnls(a, np.ones(len(rows)))
        if new[0] <= 0:  # no conv-heavy row left: keep the ratios of the previous step
            break
        beta = new / new[0]
    return beta, scale


def predict(row: Row, beta: np.ndarray, scale: dict) -> float:
    """Milliseconds for a row at a full ratio vector ``beta`` and its stack's scale."""
    return scale[row.stack] * float(_features6(row.mix) @ beta) / (row.clock * 1e6) * 1e3


def _scale_only(rows: list[Row], beta: np.ndarray) -> dict:
    stacks = sorted({r.stack for r in rows})
    return {s: math.exp(statistics.mean(math.log(r.cycles / (_features6(r.mix) @ beta)) for r in rows
                                        if r.stack == s)) for s in stacks}


def _group_fit(rows: list[Row], group: str, cpu: list[Row]):
    """(full ratio vector, scale per stack, how the ratios were found) for one fit group."""
    mine = [r for r in rows if r.group == group]
    if len({r.stack for r in mine}) >= 2:
        beta, scale = fit(mine)
        return _expand(beta), scale, "own ratios"
    if group in _PRIORS:
        beta, basis = _PRIORS[group]
        return beta, _scale_only(mine, beta), f"fixed ratios: {basis}"
    pooled, _ = fit([r for r in cpu if r.group != group])
    beta, scale = fit(mine, pooled)
    return _expand(beta), scale, "ratios pooled over the other CPU groups"


_PRIORS = load_priors()


def fit_all(rows: list[Row]) -> dict:
    cpu = [r for r in rows if r.npu is None]
    return {g: _group_fit(rows, g, cpu) for g in sorted({r.group for r in rows})}


def print_rates(fits: dict) -> None:
    print("fitted class rates, MACs/cycle (conv >1x1, 1x1, depthwise, element-wise, fully connected), "
          "cycles per operator")
    for group, (beta, scale, how) in fits.items():
        print(f"  {group}: cost per conv MAC 1x1 {beta[1]:.3f}, depthwise {beta[2]:.3f}, element-wise "
              f"{beta[3]:.3f}, fc {beta[4]:.3f}, per-op {beta[5]:.0f} conv-MAC times ({how})")
        for s, a in sorted(scale.items()):
            rates = [1.0 / (a * b) if b else float("inf") for b in beta[:5]]
            print(f"    {s[0]:10} {s[1][:22]:22} {s[2][:18]:18} {s[3]:>5g} MHz  conv {rates[0]:.3f}  "
                  f"1x1 {rates[1]:.3f}  dw {rates[2]:.3f}  ew {rates[3]:.3f}  fc {rates[4]:.3f}  "
                  f"op {a * beta[5]:.0f}")


def _kb_estimate(row: Row, kb) -> tuple[float, str]:
    rate = perf.resolve(row.core, row.kernel if row.kernel != "npu" else "npu", row.npu, kb, row.framework,
                        row.version)
    return perf.cycles(row.mix, rate) / (row.clock * 1e6) * 1e3, rate.basis


LATENCY_GOAL = "goal: median 0.9-1.1, >= 80 % within, worst <= 1.5x"
ENERGY_GOAL = "goal: median 0.8-1.25"  # issue 12's energy goal is on the median only


def summary(label: str, ratios: list[float], goal: str = LATENCY_GOAL) -> str:
    ratios = [r for r in ratios if not math.isnan(r)]
    if not ratios:
        return f"{label}: no rows"
    inside = sum(1 for r in ratios if 0.8 <= r <= 1.25) / len(ratios)
    worst = max(ratios, key=lambda r: max(r, 1.0 / r))
    return (f"{label}: {len(ratios)} rows, median ratio {statistics.median(ratios):.2f}, "
            f"{inside:.0%} within 0.8-1.25, worst {worst:.2f} ({goal})")


def loo_ratios(rows: list[Row]) -> list[float]:
    """Estimate / published per row, each row predicted by the fit redone without it (nan when its stack has no
    other row)."""
    cpu = [r for r in rows if r.npu is None]
    out = []
    for i, row in enumerate(rows):
        beta, scale, _ = _group_fit(rows[:i] + rows[i + 1:], row.group, [r for r in cpu if r is not row])
        out.append(predict(row, beta, scale) / row.latency if row.stack in scale else float("nan"))
    return out


def print_calibration(rows: list[Row], fits: dict, kb) -> None:
    print(f"{'board':20} {'stack':22} {'bench':5} {'published':>9} {'in':>6} {'LOO':>6} {'KB':>6}  KB basis")
    ins, loos, kbs = [], loo_ratios(rows), []
    for row, loo in zip(rows, loos):
        beta, scale, _ = fits[row.group]
        est_kb, basis = _kb_estimate(row, kb)
        ins.append(predict(row, beta, scale) / row.latency)
        kbs.append(est_kb / row.latency)
        print(f"{row.board[:20]:20} {row.stack[1][:22]:22} {row.bench:5} {row.latency:>9.2f} {ins[-1]:>6.2f} "
              f"{loo:>6.2f} {kbs[-1]:>6.2f}  {basis[:70]}")
    for label, ratios in (("in-sample", ins), ("leave-one-out", loos), ("knowledge base (advisor.perf)", kbs)):
        print(summary(label, ratios))
    by: dict = {}
    for row, ratio in zip(rows, loos):
        by.setdefault(row.group, []).append(ratio)
    for group, rs in sorted(by.items()):
        print("  " + summary(f"leave-one-out {group}", rs))


def validation_rows(kb) -> list[Row]:
    out = []
    for r in csv.DictReader(VALIDATION.open()):
        stack = STACKS.get(r["framework_family"])
        if not r["core"] or not stack or not r["clock_mhz"] or r["accelerator"]:  # no model for the accelerator
            out.append(Row(("", r["framework_family"], r["board"] or r["system_id"], 0.0), "", r["benchmark"],
                           perf.OpMix(), 0.0, 0.0, float(r["latency_ms"]), "", "", None, r["core"],
                           r["framework_version"] or None, r["board"] or r["system_id"], r["source"]))
            continue
        clock, latency = float(r["clock_mhz"]), float(r["latency_ms"])
        out.append(Row((r["core"], r["framework_family"], r["board"], clock), stack[3], r["benchmark"],
                       mix_for(r["benchmark"], kb), latency * 1e-3 * clock * 1e6, clock, latency, stack[0],
                       stack[1], stack[2], r["core"], r["framework_version"] or None, r["board"], r["source"]))
    return out


def print_validation(rows: list[Row], kb) -> None:
    usable = [r for r in rows if r.framework]
    print(f"\n== Validation: MLPerf Tiny v1.1-v1.3 ({VALIDATION.name}, never fitted on): {len(usable)} of "
          f"{len(rows)} rows have a core and a framework the knowledge base models "
          "(FPGA, Syntiant, Qualcomm, RISC-V, accelerator, Bosch HALE and ONNC rows have none)")
    print(f"{'round/board':26} {'core':10} {'stack':22} {'ver':7} {'bench':5} {'MHz':>5} {'published':>9} "
          f"{'est':>8} {'ratio':>6}  basis")
    ratios = []
    for row in usable:
        est, basis = _kb_estimate(row, kb)
        ratios.append(est / row.latency)
        print(f"{row.board[:26]:26} {row.core:10} {row.stack[1][:22]:22} {str(row.version or '')[:7]:7} "
              f"{row.bench:5} {row.clock:>5g} {row.latency:>9.2f} {est:>8.2f} {ratios[-1]:>6.2f}  {basis[:60]}")
    print(summary("validation", ratios))
    by: dict = {}
    for row, ratio in zip(usable, ratios):
        by.setdefault(row.group, []).append(ratio)
    for group, rs in sorted(by.items()):
        print("  " + summary(group, rs))


# calibration board names whose knowledge-base id is not their name
ENERGY_BOARDS = {"xg24-dk2601b": "efr32xg24-dev-kit", "ndp9120": "syntiant-ndp9120"}


def print_energy(path: Path, kb) -> None:
    """Every calibration row with an energy figure: the board's active power times the published latency (checks
    the power figure) and times the estimated latency (the whole chain ``advise`` uses)."""
    boards = {b.name.lower(): b for b in kb.boards.values()}
    boards.update({b.id: b for b in kb.boards.values()})
    boards.update({alias: kb.boards[bid] for alias, bid in ENERGY_BOARDS.items() if bid in kb.boards})
    rows = {(r.board, r.bench, r.stack[1], r.clock): r for r in calibration_rows(path, kb)}
    print("\n== Energy: board active power x latency vs published energy per inference (uJ)")
    print(f"{'board':24} {'stack':22} {'bench':5} {'published':>10} {'KB board':22} {'x pub. lat':>10} {'ratio':>6} "
          f"{'x est. lat':>10} {'ratio':>6}")
    ratios, chain, skipped = [], [], []
    for r in csv.DictReader(path.open()):
        if not r["energy_uj_per_inf"]:
            continue
        board = boards.get(r["board"].lower().replace("_", "-").replace(" ", "-")) or boards.get(r["board"].lower())
        power = perf.active_mw(board) if board else 0.0
        published = float(r["energy_uj_per_inf"])
        at = board.power.clock_mhz if board and board.power and board.power.clock_mhz else None
        if power and at and r["clock_mhz"] and abs(float(r["clock_mhz"]) / at - 1.0) > 0.05:
            # another operating point (clock and core voltage) than the one the board's power figure is for
            skipped.append(f"{r['board']} {r['benchmark']} at {float(r['clock_mhz']):g} MHz "
                           f"(power figure at {at:g} MHz): implied {published / float(r['latency_ms']):.1f} mW")
            continue
        est = perf.energy_mj(float(r["latency_ms"]), board) * 1e3 if power else float("nan")
        row = rows.get((r["board"], r["benchmark"], r["framework_family"], float(r["clock_mhz"] or 0)))
        full = perf.energy_mj(_kb_estimate(row, kb)[0], board) * 1e3 if power and row else float("nan")
        ratios.append(est / published)
        chain.append(full / published)
        print(f"{r['board'][:24]:24} {r['framework_family'][:22]:22} {r['benchmark']:5} {published:>10.1f} "
              f"{(board.id if board else '-')[:22]:22} {est:>10.1f} {ratios[-1]:>6.2f} {full:>10.1f} {chain[-1]:>6.2f}")
    print(summary("energy at published latency (checks the power figure)", ratios, ENERGY_GOAL))
    print(summary("energy at estimated latency", chain, ENERGY_GOAL))
    if skipped:
        print(f"left out, {len(skipped)} rows at another operating point than the board's power figure:")
        for line in skipped:
            print("  " + line)
