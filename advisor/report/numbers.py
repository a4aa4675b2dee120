"""The figures that decide, as plain data: per-layer table, one arena figure, the memory budget, energy and
battery life, the ranking terms, and the compression path the recipe took.

Every figure carries what it is (estimated, measured on the host, generated into the firmware) and, when it
cannot be known, says ``None`` with what is missing -- the templates print "unknown", never a guess.
"""

from __future__ import annotations

from advisor.perf import active_power

KIB = 1024.0
# The RAM parts the lead's estimate names (advise --json: estimates.ram_parts_kb), in drawing order.
RAM_PARTS = ("arena", "runtime", "buffers", "stack", "os", "radio")
RAM_PART_LABELS = {"arena": "tensor arena", "runtime": "runtime (interpreter, kernels)", "buffers": "sensor buffers",
                   "stack": "stack", "os": "operating system", "radio": "radio stack"}
POWER_PARTS = ("inference", "sensing", "radio", "sleep")


def _num(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def layers(profile, latency_ms: float | None) -> list[dict]:
    """One row per operator: MACs, weight bytes, estimated time and the arena alive while it runs.

    NOTE: the estimated time is the stack's whole-model latency estimate shared out by each operator's work
    (MACs plus pooling and element-wise operations): the estimator has one rate per kernel family, not per
    operator, so the shares are only as good as that rate.
    """
    work = [r.macs + r.other_ops for r in profile.rows]
    total = sum(work)
    return [{"index": r.index, "op": r.op, "output_shape": "x".join(map(str, r.output_shape)), "macs": r.macs,
             "other_ops": r.other_ops, "weight_bytes": r.weight_bytes,
             "est_ms": round(latency_ms * w / total, 4) if latency_ms and total else None,
             "live_kb": round(r.live_bytes / KIB, 2)} for r, w in zip(profile.rows, work)]


def arena(profile, run: dict | None, rec: dict | None) -> dict:
    """One arena figure with its three labelled readings: the estimate, the host measurement, the firmware's."""
    metrics = (run or {}).get("metrics", {})
    steps = {s["uses"]: s for s in (run or {}).get("manifest", {}).get("steps", [])}
    export = steps.get("export-c", {})
    margin = None
    for s in (run or {}).get("manifest", {}).get("recipe", {}).get("steps", []):
        if s["uses"] == "export-c":
            margin = _num(s["params"].get("arena_margin_pct"))
    estimate = profile.plan.arena_bytes if profile is not None else \
        (round(rec["estimates"]["arena_kb"] * KIB) if rec else None)
    measured = (metrics.get("tflm") or {}).get("arena_bytes")
    firmware = (export.get("outputs") or {}).get("arena_bytes") if export.get("status") == "ok" else None
    off = round(100.0 * (estimate - measured) / measured, 1) if estimate and measured else None
    return {
        "estimate_bytes": estimate,
        "estimate_basis": "the profiler's simulation of the TFLM arena planner on this model" if profile is not None
        else "the reference model's arena in the knowledge base",
        "measured_bytes": measured or None,
        "measured_basis": "tflite-micro's recording allocator in the host interpreter (a 64-bit build: the "
                          "device's own figure is what the harness prints)" if measured else "not measured: no run",
        "estimate_off_pct": off,
        "firmware_bytes": firmware,
        "firmware_margin_pct": margin,
        "firmware_basis": (export.get("outputs") or {}).get("arena_basis") if firmware else None,
        "device_bytes": None,
        "device_basis": "to be measured on the board: the harness prints arena_used_bytes()",
    }


def memory_budget(rec: dict, board) -> dict:
    """RAM and flash parts against the board; from ``ram_parts_kb`` when advise gives it, else what exists."""
    e = rec["estimates"]
    if isinstance(e.get("ram_parts_kb"), dict):
        parts = {k: _num(e["ram_parts_kb"].get(k)) for k in RAM_PARTS}
        basis = "advise's RAM parts"
    else:
        runtime = _num(e["ram_kb"]) - _num(e["arena_kb"]) if _num(e.get("arena_kb")) is not None else None
        # NOTE: advisor.perf.runtime_kb gives 0.0 for a runtime whose RAM is not published: unknown, not zero.
        parts = {"arena": _num(e.get("arena_kb")), "runtime": runtime if runtime and runtime > 0 else None,
                 "buffers": None, "stack": None, "os": None, "radio": None}
        basis = "the arena and runtime estimates only (advise gives no other RAM parts yet)"
    total = _num(e["ram_avail_kb"])
    known = sum(v for v in parts.values() if v is not None)
    left = _num(e.get("ram_left_kb"))
    left = left if left is not None else (round(total - known, 2) if total is not None else None)
    flash_total = _num(e["flash_avail_kb"])
    model = _num(e.get("model_flash_kb"))
    rt_flash = _num(e["flash_kb"]) - model if model is not None else None
    flash_parts = {"model": model, "runtime": rt_flash if rt_flash and rt_flash > 0 else None}
    flash_left = _num(e.get("flash_left_kb"))
    if flash_left is None and flash_total is not None and flash_total < 1e8:
        flash_left = round(flash_total - sum(v for v in flash_parts.values() if v is not None), 2)
    unknown = [k for k, v in parts.items() if v is None]
    return {"board": rec["board"], "basis": basis,
            "ram": {"total_kb": total, "board_sram_kb": float(board.sram_kb) if board else None,
                    "avail_basis": e.get("ram_avail_basis"),
                    "parts": [{"name": k, "label": RAM_PART_LABELS[k], "kb": v} for k, v in parts.items()],
                    "unknown": unknown, "left_kb": left,
                    "left_note": "left after the known parts; " + ", ".join(RAM_PART_LABELS[k] for k in unknown) +
                    " not counted (unknown)" if unknown else "left for the application"},
            "flash": {"total_kb": flash_total if flash_total is not None and flash_total < 1e8 else None,
                      "parts": [{"name": k, "label": k, "kb": v} for k, v in flash_parts.items()],
                      "unknown": [k for k, v in flash_parts.items() if v is None], "left_kb": flash_left}}


def energy(rec: dict, req, board) -> dict:
    """Energy per inference, average power and battery life with the duty-cycle assumptions, or what is missing."""
    e = rec["estimates"]
    power = board.power if board is not None else None
    # the figure advise charged: for a stack on the NPU, the power published while it runs, where there is one
    active, conditions = active_power(board, e.get("kernel") == "npu") if board is not None else (0.0, "")
    active = _num(active) or None
    sleep = _num(getattr(power, "sleep_mw", None)) or None
    latency = _num(e.get("latency_ms"))
    duty = min(1.0, latency / 1e3 * req.inferences_per_s) if latency is not None else None
    if isinstance(e.get("power_parts_mw"), dict):
        parts = {k: _num(e["power_parts_mw"].get(k)) for k in POWER_PARTS}
        missing = list(e.get("energy_unknown") or [])
    else:
        parts = {"inference": active * duty if active and duty is not None else None, "sensing": None,
                 "radio": None, "sleep": sleep * (1 - duty) if sleep and duty is not None else None}
        missing = ([] if active else ["the board's active power"]) + ([] if sleep else ["the board's sleep power"]) + \
            ["sensor power", "radio power"]
    battery = (f"{req.battery_mah:g} mAh at {req.battery_v:g} V" if req.battery_mah else None)
    if not req.battery_mah:
        missing.append("a battery capacity (the questionnaire gives none)")
    days = _num(e.get("battery_days")) or None
    return {"energy_mj": _num(e.get("energy_mj")) or None, "avg_power_mw": _num(e.get("avg_power_mw")) or None,
            "battery_days": days, "battery": battery, "lifetime_days": req.lifetime_days or None,
            "parts_mw": parts, "missing": list(dict.fromkeys(missing)),
            "assumptions": {"inferences_per_s": req.inferences_per_s, "latency_ms": latency,
                            "duty_cycle": round(duty, 6) if duty is not None else None, "active_mw": active,
                            "sleep_mw": sleep,
                            "power_basis": getattr(power, "basis", None),
                            "power_conditions": conditions or None}}


def ranking(advice: dict) -> dict:
    """The top stacks with each ranking term (penalty x weight), and why #1 beat each runner-up."""
    recs = advice["recommendations"]
    weights = advice["ranking"]["weights"]
    terms = list(weights)
    rows = []
    for r in recs:
        pen = r.get("penalties", {})
        rows.append({"rank": r["rank"], "stack": f"{r['board']} + {r['framework']} + {r['recipe']}",
                     "score": r["score"], "terms": {t: round(weights[t] * pen[t], 4) if t in pen else None
                                                    for t in terms},
                     "unknown_terms": list(r.get("unknown_terms", []))})
    why = []
    for row in rows[1:]:
        diff = sorted(((row["terms"][t] - rows[0]["terms"][t], t) for t in terms
                       if row["terms"][t] is not None and rows[0]["terms"][t] is not None), reverse=True)
        worse = [f"{t} +{d:.3f}" for d, t in diff if d > 5e-4][:3]
        better = [f"{t} {d:.3f}" for d, t in reversed(diff) if d < -5e-4][:2]
        why.append({"rank": row["rank"], "stack": row["stack"], "behind_by": round(row["score"] - rows[0]["score"], 4),
                    "worse_on": worse, "better_on": better})
    return {"terms": terms, "weights": weights, "rows": rows, "why": why,
            "measures": {t: v.get("measures", "") for t, v in advice["ranking"].get("terms", {}).items()}}


def compression_path(run: dict) -> list[dict]:
    """The recipe's steps in order, each with the model size and accuracy after it (None when not measured)."""
    from advisor.report.scores import _percent

    metrics, manifest = run["metrics"], run["manifest"]
    size = metrics.get("size", {})
    ok = [s for s in manifest["steps"] if s["status"] == "ok"]
    trained = [s for s in ok if s["uses"] in TRAINING_STEPS]
    out = []
    for s in ok:
        o = s["outputs"]
        if s["uses"] == "load-model" and _num(o.get("parameters")):
            out.append(_point(s, "float Keras (as loaded)", o["parameters"] * 4.0, "parameters x 4 bytes (float32)",
                              None if trained else _percent(metrics.get("float"))))
        elif s["uses"] in TRAINING_STEPS:
            params = _num(o.get("student_parameters")) or _num((ok[0]["outputs"] or {}).get("parameters"))
            note = ", ".join(f"{k} {v:g}" for k, v in o.items() if k in ("sparsity", "clusters") and _num(v) is not None)
            last = s is trained[-1]
            out.append(_point(s, f"after {s['id']}" + (f" ({note})" if note else ""), params * 4.0 if params else None,
                              "dense float32 weights (pruning and clustering shrink the file only once compressed)",
                              _percent(metrics.get("keras")) if last else None))
        elif s["uses"] == "convert" and size.get("tflite_bytes"):
            q = manifest["recipe"]["quantization"]
            out.append(_point(s, f"{q} .tflite", float(size["tflite_bytes"]), "model.tflite bytes (= flash)",
                              _percent(metrics.get("tflite"))))
            out.append(_point(s, f"{q} .tflite gzipped", float(size["gzip_bytes"]),
                              "gzip of model.tflite: storage and download size, not flash",
                              _percent(metrics.get("tflite"))))
        elif s["uses"] == "tflm-validate" and size.get("tflite_bytes"):
            out.append(_point(s, "TFLite Micro (host interpreter)", float(size["tflite_bytes"]),
                              "model.tflite bytes", _percent(metrics.get("tflm"))))
    return out


TRAINING_STEPS = {"prune", "cluster", "qat", "distill", "fine-tune"}


def _point(step: dict, label: str, size: float | None, basis: str, accuracy: float | None) -> dict:
    return {"step": step["id"], "label": label, "bytes": size, "size_basis": basis, "accuracy": accuracy}
