"""Estimates for one (board, framework, recipe): RAM, flash, latency, energy, accuracy loss, op support.

Until the model profiler lands, the model's size, arena and MACs come from the task's reference
model in the knowledge base (published, measured figures). Every estimate says what it rests on.

The work is split by what it depends on, so the solver computes each part once: the recipe part
(model bytes, arena, MACs, accuracy), the framework x recipe part (operator support), the board x
framework part (kernels, throughput, memory available) and the cheap per-candidate combination.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from advisor.kb.base import KnowledgeBase
from advisor.kb.entities import Board, Framework, Recipe
from advisor.perf import Rate, active_mw, energy_mj, ext_ram_counted, is_float, model_latency_ms
from advisor.profile.basis import ModelBasis
from advisor.questionnaire.requirements import Requirements
from advisor.rules.core import format_value

KIB = 1024.0
# Bytes per weight relative to int8, and per activation relative to int8, for each numeric scheme.
WEIGHT_FACTOR = {"int8": 1.0, "int16x8": 1.0, "dynamic-range": 1.0, "float16": 2.0, "float32": 4.0}
ACTIVATION_FACTOR = {"int8": 1.0, "int16x8": 2.0, "dynamic-range": 4.0, "float16": 4.0, "float32": 4.0}
# Op-set dtype the recipe's kernels must support.
KERNEL_DTYPE = {"int8": "int8", "int16x8": "int16", "dynamic-range": "float32", "float16": "float32",
                "float32": "float32"}
REMOVABLE_STORAGE_KB = 1e9
# Connectivity kinds that bring a radio stack with RAM of its own (usb, ethernet, can, rs485 are wired).
RADIOS = ("ble", "wifi", "lora", "cellular", "thread", "zigbee", "sub-ghz", "nfc", "gnss")  # application processors boot from removable storage: flash is no constraint


@dataclass(frozen=True)
class RecipePart:
    model_flash_kb: float
    arena_kb: float
    macs: float
    accuracy_drop_pp: float
    other_ops: float = 0.0
    accuracy_drop_best_pp: float = 0.0


def recipe_part(recipe: Recipe, basis: ModelBasis, kb: KnowledgeBase) -> RecipePart:
    """Model bytes, arena, MACs and expected accuracy loss after the recipe."""
    techniques = [kb.techniques[t] for t in recipe.techniques]
    superseded = {r for t in techniques for r in t.preconditions.requires}
    drop, best, scale = 0.0, 0.0, 1.0
    for t in techniques:
        if t.id in superseded:
            continue  # a combined technique's effect is measured on the whole combination
        if t.effect.accuracy_delta_pp:
            drop -= sum(t.effect.accuracy_delta_pp) / 2.0  # expected: the middle of the published range
            best -= max(t.effect.accuracy_delta_pp)  # the best published case
        if t.family in ("distillation", "architecture", "factorization") and t.effect.size_factor:
            scale *= sum(t.effect.size_factor) / 2.0
    return RecipePart(
        model_flash_kb=basis.int8_bytes * WEIGHT_FACTOR[recipe.quantization] * scale / KIB,
        arena_kb=basis.int8_arena_bytes * ACTIVATION_FACTOR[recipe.quantization] / KIB,
        macs=basis.macs * scale, accuracy_drop_pp=max(drop, 0.0), other_ops=basis.other_ops * scale,
        accuracy_drop_best_pp=max(best, 0.0))


def unsupported_ops(fw: Framework, recipe: Recipe, basis: ModelBasis, kb: KnowledgeBase) -> tuple[list[str], bool]:
    """Model ops the framework has no kernel for in the recipe's dtype, and whether that was checkable."""
    opset = _opset(fw, kb)
    if opset is None:
        return [], False
    have = set(opset.names(KERNEL_DTYPE[recipe.quantization]))
    return sorted(op for op in basis.ops if op not in have and op not in ("QUANTIZE", "DEQUANTIZE")), True


def _opset(fw: Framework, kb: KnowledgeBase):
    if fw.operators:
        return kb.operator_sets.get(fw.operators)
    for parent in fw.builds_on:
        if parent in kb.frameworks and kb.frameworks[parent].operators:
            return kb.operator_sets.get(kb.frameworks[parent].operators)
    return None


def estimate(board: Board, basis: ModelBasis, fw: Framework, recipe: Recipe, part: RecipePart,
             unsupported: list[str], rate: Rate, kernel: str, req: Requirements, kb: KnowledgeBase,
             runtime: tuple[float, float]) -> dict:
    """The ``est`` root of the rule context for one candidate.

    ``rate`` and ``kernel`` are those the recipe's dtype runs on (reference kernels for float models).
    """
    flash_rt, ram_rt = runtime
    if fw.kind == "code-generator" and basis.activation_bytes:
        # generated code with statically planned buffers: no interpreter, so none of the TFLM arena's own
        # bookkeeping (tensor and node structs, the persistent tail), only the activation buffers
        part = replace(part, arena_kb=basis.activation_bytes * ACTIVATION_FACTOR[recipe.quantization] / KIB)
    buffers = basis.input_bytes * ACTIVATION_FACTOR[recipe.quantization] / KIB
    parts, unknown = overheads_kb(req, kb) if board.class_ == "mcu" else ({}, [])
    ram_kb = part.arena_kb + ram_rt + buffers + sum(v for v in parts.values() if v is not None)
    flash_kb = part.model_flash_kb + flash_rt
    sram = board.sram_kb
    ram_avail, flash_avail = memory_avail(board, req, fw)
    uses_ext = ram_avail > sram and ram_kb * (1.0 + req.memory_margin_pct / 100.0) > sram
    if npu_holds_model(board, fw):
        flash_kb = part.model_flash_kb  # the runtime is the host's code, not stored on this board
    floating = is_float(recipe)
    version = req.framework_version if req.framework_version and fw.id == req.framework else None
    latency, latency_basis = model_latency_ms(basis, board, fw, recipe, kb, version=version,
                                              scale=part.macs / basis.macs if basis.macs else 1.0)
    if uses_ext:
        latency_basis += EXT_RAM_LATENCY_NOTE
    on_npu = kernel == "npu"
    active = active_mw(board, on_npu)
    duty = min(1.0, latency / 1e3 * req.inferences_per_s)
    power = power_parts(board, req, active, duty)
    avg_mw = sum(v for v in power["parts"].values() if v is not None) if active else 0.0
    battery_days = (req.battery_mah * req.battery_v / avg_mw / 24.0) if req.battery_mah and avg_mw else 0.0
    return {
        "model_flash_kb": part.model_flash_kb, "flash_kb": flash_kb, "arena_kb": part.arena_kb,
        "ram_kb": ram_kb, "ram_avail_kb": float(ram_avail), "flash_avail_kb": float(flash_avail),
        "latency_ms": latency, "latency_basis": latency_basis, "kernel": kernel,
        "energy_mj": energy_mj(latency, board, on_npu),
        "avg_power_mw": avg_mw, "battery_days": battery_days, "accuracy_drop_pp": part.accuracy_drop_pp,
        "accuracy_drop_best_pp": part.accuracy_drop_best_pp,
        "unsupported_ops": unsupported,
        "float_ops_on_mcu": list(basis.ops) if floating and board.class_ == "mcu" else [],
        "uses_ext_ram": uses_ext, "ram_avail_basis": ram_avail_basis(board, req, fw, ram_avail),
        "buffers_kb": buffers, "runtime_ram_kb": ram_rt, "radio_ram_kb": parts.get("radio") or 0.0,
        "os_ram_kb": parts.get("os") or 0.0, "stack_ram_kb": parts.get("stack") or 0.0,
        "ram_unknown": unknown + (["runtime"] if not ram_rt else []),
        "power_known": bool(active), "duty_cycle": duty,
        "inference_mw": power["parts"]["inference"] or 0.0, "sensing_mw": power["parts"]["sensing"] or 0.0,
        "sleep_avg_mw": power["parts"]["sleep"] or 0.0, "energy_unknown": power["unknown"],
    }


def overheads_kb(req: Requirements, kb: KnowledgeBase) -> tuple[dict[str, float | None], list[str]]:
    """RAM of the radio stack, OS and thread stack the project needs beside the model, KiB (knowledge/overheads),
    and what is unknown.

    A radio the project needs with no entry, and an OS or stack part with no entry for the project's OS kind,
    is unknown: not counted, and named in the second value. It depends on the questionnaire only, so it is
    worked out once per (connectivity, OS) and knowledge base, not once per candidate.
    """
    cache = getattr(kb, "_overheads_cache", None)
    if cache is None:
        cache = kb._overheads_cache = {}  # type: ignore[attr-defined]
    key = (tuple(req.connectivity), req.os)
    if key not in cache:
        cache[key] = _overheads(req, kb)
    parts, unknown = cache[key]
    return dict(parts), list(unknown)


def _overheads(req: Requirements, kb: KnowledgeBase) -> tuple[dict[str, float | None], list[str]]:
    found: dict[str, float | None] = {"radio": 0.0, "os": None, "stack": None}
    covered = set()
    for o in sorted(kb.overheads.values(), key=lambda o: o.id):
        a = o.applies
        if a.connectivity is not None and a.connectivity not in req.connectivity:
            continue
        if a.os_kind is not None and a.os_kind != req.os:
            continue
        covered.add(a.connectivity)
        found[o.part] = (found[o.part] or 0.0) + o.ram_kb
    unknown = [f"radio stack ({c})" for c in req.connectivity if c in RADIOS and c not in covered]
    unknown += [part for part in ("os", "stack") if found[part] is None]
    return found, unknown


def npu_holds_model(board: Board, fw: Framework) -> bool:
    """Whether the stack runs on a host-loaded accelerator that keeps the model in its own memory (a board with no
    flash whose NPU publishes its memory, and a framework that targets that NPU)."""
    return bool(board.npu and board.npu.memory_kb and not board.flash_kb and board.npu.kind in fw.accelerators)


# No knowledge-base source measures how much slower a model runs with its arena in external RAM on any board here
# (it depends on the cache, the bus and the access pattern), so the estimate does not scale for it and says so.
EXT_RAM_LATENCY_NOTE = ("; arena in external RAM: this latency assumes internal-SRAM speed, and the slowdown "
                        "is not published for this board (unknown)")


def ram_avail_basis(board: Board, req: Requirements, fw: Framework | None, ram_avail: float) -> str:
    """What the RAM available is made of, for explanations: internal SRAM, external RAM and a budget cap."""
    sram, ext = format_value(float(board.sram_kb)), format_value(float(board.ext_ram_kb))
    if not board.ext_ram_kb or board.class_ != "mcu":
        parts = f"{format_value(float(board.sram_kb + board.ext_ram_kb))} KB on the board"
    elif ext_ram_counted(board, fw):
        parts = f"{sram} KB internal SRAM + {ext} KB external RAM"
    else:
        why = ("cannot place its arena there" if fw.runtime.arena_external_ram is False
               else "is not known to place its arena there")
        parts = f"{sram} KB internal SRAM; the {ext} KB external RAM is not counted: {fw.id} {why}"
    if req.ram_budget_kb and req.ram_budget_kb <= ram_avail:
        parts += f"; capped by the {format_value(float(req.ram_budget_kb))} KB RAM budget"
    return parts


def memory_avail(board: Board, req: Requirements, fw: Framework | None = None) -> tuple[float, float]:
    """(RAM, flash) the deployment may use, KiB: the board's memory, capped by the questionnaire's budgets.

    A budget never raises what the board has: a 512 KB budget on a 256 KB board leaves 256 KB. RAM counts
    external RAM (PSRAM/SDRAM) beside internal SRAM where the framework can keep its arena there
    (``ext_ram_counted``; ``uses_ext_ram`` flags a stack that needs it); flash counts external flash, and
    application processors, which boot from removable storage, have no flash limit. For a stack on a
    host-loaded NPU (``npu_holds_model``) the model's store is the accelerator's own memory.
    """
    ram = float(board.sram_kb + (board.ext_ram_kb if ext_ram_counted(board, fw) else 0))
    total_flash = board.flash_kb + board.ext_flash_kb
    if fw is not None and npu_holds_model(board, fw):
        flash = float(board.npu.memory_kb)
    else:
        flash = float(total_flash if total_flash or board.class_ == "mcu" else REMOVABLE_STORAGE_KB)
    if req.ram_budget_kb:
        ram = min(ram, req.ram_budget_kb)
    if req.flash_budget_kb:
        flash = min(flash, req.flash_budget_kb)
    return ram, flash


# Questionnaire sensor -> the board peripheral kind whose draw it is.
SENSOR_PERIPHERAL = {"microphone": "microphone", "accelerometer": "imu", "gyroscope": "imu", "magnetometer": "imu",
                     "camera": "camera"}


def power_parts(board: Board, req: Requirements, active: float, duty: float) -> dict:
    """Average power by part, mW, and what is unknown.

    inference: the board's active power x the inference duty cycle; sleep: its sleep power for the rest of the
    time; sensing: the published draw of each sensor the project needs, on all the time (an always-on sensor,
    the normal case for audio and motion; one figure per peripheral kind). The radio's share needs a duty
    cycle the questionnaire does not ask, so a required radio is named unknown, as is any part without a
    published figure. Unknown parts are not counted: the average is a lower bound when ``unknown`` is not empty.
    """
    unknown: list[str] = []
    p = board.power
    if not active:
        unknown.append("active power (the board publishes none)")
    sleep = p.sleep_mw if p and p.sleep_mw is not None else None
    if sleep is None and duty < 1.0:
        unknown.append("sleep power")
    drawn = {x.kind: x.active_mw for x in (p.peripherals if p else ())}
    sensing, kinds = 0.0, []
    for sensor in req.sensors:
        kind = SENSOR_PERIPHERAL.get(sensor)
        if kind is None or kind in kinds:
            continue
        kinds.append(kind)
        if kind in drawn:
            sensing += drawn[kind]
        else:
            unknown.append(f"{sensor} draw")
    unknown += [f"{c} radio (duty cycle not asked)" for c in req.connectivity if c in RADIOS]
    parts = {"inference": active * duty if active else None,
             "sleep": sleep * (1.0 - duty) if sleep is not None else None,
             "sensing": None if any(u.endswith(" draw") for u in unknown) and not sensing else sensing,
             "radio": None if any(c in RADIOS for c in req.connectivity) else 0.0}
    return {"parts": parts, "unknown": unknown}
