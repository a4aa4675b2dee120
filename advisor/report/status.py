"""Honest status per checklist item: proved here (with evidence), estimated (with basis and known error), or
to do by the team.

NOTE: a method the tool does only in part is split into two items -- the part proved here and the part left to
the team -- so "validated in the host interpreter" is never read as "validated on the target".
"""

from __future__ import annotations

import re

PROVED, ESTIMATED, TODO = "proved", "estimated", "todo"
LABELS = {PROVED: "proved here", ESTIMATED: "estimated", TODO: "to do by the team"}


def _short(sha: str | None) -> str:
    return f"sha256 {sha[:12]}" if sha else "no hash"


def _item(text: str, status: str, note: str = "", evidence: str = "", basis: str = "", error: str = "") -> dict:
    return {"text": text, "status": status, "label": LABELS[status], "done": status != TODO,
            "by": "team" if status == TODO else "tool", "note": note, "evidence": evidence, "basis": basis,
            "error": error}


def method_items(step_id: str, text: str, ctx: dict) -> list[dict]:
    """The checklist items for one guideline method of one step (usually one, two when split)."""
    for rule_step, pattern, judge in RULES:
        if rule_step == step_id and re.search(pattern, text, re.I):
            return judge(text, ctx)
    return [_item(text, TODO)]


def _compare(text, c):
    if not c["advised"]:
        return [_item(text, TODO)]
    return [_item(text, ESTIMATED, "ranked every feasible stack against the requirements",
                  basis=f"{c['candidates']} feasible stacks ranked on the knowledge base's estimates "
                        f"(digest {c['digest'][:12]}); the ranking terms are in the table above",
                  error="as good as the latency, memory and energy estimates it ranks on")]


def _maintenance(text, c):
    if not c["advised"]:
        return [_item(text, TODO)]
    return [_item(text, ESTIMATED, "maintenance status and community size are ranking terms",
                  basis="each framework entry's status and community size, with its sources, in the knowledge base",
                  error="as of the entries' last review; check the repositories' recent activity before committing")]


def _reuse(text, c):
    if not c["existing_board"]:
        return [_item(text, TODO)]
    return [_item(text, ESTIMATED, f"{c['existing_board']} ranked first when it can run the model",
                  basis="the same memory, operator and latency estimates as every other board",
                  error="not run on that board yet")]


def _memory(text, c):
    if not c["advised"]:
        return [_item(text, TODO)]
    a = c["arena"]
    if a["measured_bytes"]:
        basis = (f"arena estimated {a['estimate_bytes']:,} B, measured {a['measured_bytes']:,} B in the host "
                 f"interpreter; runtime RAM and flash from the framework entry")
        error = f"arena estimate {a['estimate_off_pct']:+.1f}% against the host measurement" \
            if a["estimate_off_pct"] is not None else "arena estimate not compared"
    else:
        basis = "arena from the profiler's plan (or the reference model), runtime RAM and flash from the framework entry"
        error = "not measured: a run measures the arena in the host interpreter"
    return [_item(text, ESTIMATED, "RAM and flash needs checked with the margin", basis=basis,
                  error=error + "; the device figure comes from the harness")]


def _energy(text, c):
    en = c["energy"]
    if not en or not en["energy_mj"]:
        missing = ", ".join(en["missing"]) if en else "a recommended stack"
        return [_item(text, TODO, basis=f"unknown: missing {missing}")]
    a = en["assumptions"]
    return [_item(text, ESTIMATED, "energy per inference from the board's published power",
                  basis=f"{a['active_mw']:g} mW active ({a['power_basis']}) x {a['latency_ms']:.2f} ms estimated "
                        f"latency, {a['inferences_per_s']:g} inferences/s",
                  error="board figure under its stated conditions; not included: " + ", ".join(en["missing"]))]


def _sensors(text, c):
    if not c["advised"]:
        return [_item(text, TODO)]
    return [_item(text, ESTIMATED, "required sensors and connectivity checked against the board entry",
                  basis="the board entry's sensor and connectivity lists (sourced)",
                  error="drivers and add-on boards are not checked")]


def _profile(text, c):
    if c["profiled"] is None:
        return [_item(text, ESTIMATED, "per-layer figures of the reference model",
                      basis=c["model_note"], error="the team's own model will differ")]
    return [_item(text, PROVED, "per-layer MACs and memory profiled",
                  evidence=f"{c['profiled']['file']} ({_short(c['profiled']['sha256'])}): "
                           f"{c['profiled']['macs']:,} MACs, {c['profiled']['operators']} operators")]


def _quantization(text, c):
    if not c["quantized"]:
        return [_item(text, TODO, basis="this recipe keeps float weights" if c["run"] and c["float_recipe"] else "")]
    return [_item(text, PROVED, "int8 model produced and evaluated", evidence=c["quantized"])]


def _pruning(text, c):
    return [_item(text, PROVED, "pruning / clustering applied by the recipe", evidence=c["pruned"])] \
        if c["pruned"] else [_item(text, TODO)]


def _distill(text, c):
    return [_item(text, PROVED, "a student model was distilled", evidence=c["distilled"])] \
        if c["distilled"] else [_item(text, TODO)]


def _convert(text, c):
    return [_item(text, PROVED, "converted to .tflite", evidence=c["converted"])] if c["converted"] \
        else [_item(text, TODO)]


def _integrate(text, c):
    if not c["exported"]:
        return [_item(text, TODO)]
    return [_item(text + " — generate the firmware sources", PROVED, "C array and a TFLM benchmark harness generated",
                  evidence=c["exported"]),
            _item(text + " — into the application", TODO)]


def _validate(text, c):
    if not c["validated"]:
        return [_item(text, TODO)]
    return [_item("Test and validate in the TFLite Micro host interpreter", PROVED,
                  "run in the tflite-micro interpreter on the host", evidence=c["validated"]),
            _item("Test and validate accuracy, latency and memory on the target board", TODO,
                  basis="flash the benchmark harness and compare its lines with the host's, as the next steps say")]


def _manifest(kind):
    def judge(text, c):
        if not c["manifest"]:
            return [_item(text, TODO)]
        return [_item(text, PROVED, kind[0], evidence=c["manifest"][kind[1]])]
    return judge


RULES = (
    ("framework-selection", r"compare candidate", _compare),
    ("framework-selection", r"maintenance status", _maintenance),
    ("hardware-selection", r"reuse|already has", _reuse),
    ("hardware-selection", r"sram and flash", _memory),
    ("hardware-selection", r"energy", _energy),
    ("hardware-selection", r"sensors", _sensors),
    ("model-compression", r"profile", _profile),
    ("model-compression", r"quantization", _quantization),
    ("model-compression", r"pruning", _pruning),
    ("model-compression", r"distillation", _distill),
    ("conversion-deployment", r"convert", _convert),
    ("conversion-deployment", r"integrate", _integrate),
    ("conversion-deployment", r"test and validate", _validate),
    ("mlops", r"data versioning", _manifest(("input data hashed in the run manifest", "data"))),
    ("mlops", r"model versioning", _manifest(("model and artifacts hashed in the run manifest", "model"))),
    ("mlops", r"experiment tracking", _manifest(("recipe, parameters, seed, versions and metrics recorded",
                                                 "tracking"))),
)


def evidence_context(req, advice: dict, kb, run: dict | None, profile, arena: dict, energy: dict | None) -> dict:
    """What the judges read: each fact the tool can show, already worded as evidence (or empty)."""
    m = run["manifest"] if run else None
    metrics = run["metrics"] if run else {}
    steps = {s["uses"]: s for s in m["steps"]} if m else {}
    ok = {u for u, s in steps.items() if s["status"] == "ok"}
    arts = m["artifacts"] if m else {}
    tflite_sha = (arts.get("model.tflite") or {}).get("sha256")
    size = metrics.get("size", {})
    techniques = set(kb.recipes[m["recipe"]["id"]].techniques) if m and m["recipe"]["id"] in kb.recipes else set()
    from advisor.report.scores import _metric_text

    def samples(block):
        return f" on {block['samples']:,} test samples" if block and block.get("samples") else ""

    profiled = None
    if profile is not None:
        sha = tflite_sha if run and run.get("tflite") else None
        profiled = {"file": "model.tflite" if sha else (str(req.model_file) if req.model_file else profile.name),
                    "sha256": sha, "macs": profile.macs, "operators": len(profile.rows)}
    quantized = ""
    if m and m["recipe"]["quantization"] == "int8" and "convert" in ok:
        quantized = (f"model.tflite ({_short(tflite_sha)}, {size.get('tflite_bytes', 0):,} B, int8): accuracy "
                     f"{_metric_text(metrics.get('tflite'))} in the TFLite interpreter")
    pruned = ""
    if techniques & {"magnitude-pruning", "weight-clustering"} and "convert" in ok:
        prune = next((s for s in m["steps"] if s["uses"] in ("prune", "cluster") and s["status"] == "ok"), None)
        sparsity = (prune or {}).get("outputs", {}).get("sparsity")
        pruned = (f"step {prune['id'] if prune else '?'}: sparsity {sparsity:.0%}, " if sparsity is not None else "") + \
            f"gzip {size.get('gzip_bytes', 0):,} B of {size.get('tflite_bytes', 0):,} B"
    distilled = ""
    if "distill" in ok:
        o = steps["distill"]["outputs"]
        distilled = f"student {o.get('student_parameters', 0):,} parameters, teacher {o.get('teacher_parameters', 0):,}"
    converted = f"model.tflite ({_short(tflite_sha)}, {size.get('tflite_bytes', 0):,} B)" if "convert" in ok else ""
    exported = ""
    if "export-c" in ok:
        files = [f for f in sorted(arts) if f.startswith("firmware/")]
        exported = "; ".join(f"{f} ({_short(arts[f]['sha256'])})" for f in files)
    validated = ""
    tflm = metrics.get("tflm")
    if "tflm-validate" in ok and tflm:
        validated = (f"accuracy {_metric_text(tflm)}{samples(tflm)}, arena {tflm['arena_bytes']:,} B measured"
                     + (f", fixed-input checksum {tflm['checksum']}" if tflm.get("checksum") else ""))
    manifest = None
    if m:
        data = m["inputs"].get("data", {})
        manifest = {"data": f"manifest.json: {data.get('path', 'data')} {_short(data.get('sha256'))}",
                    "model": f"manifest.json: model.tflite {_short(tflite_sha)}, input model "
                             f"{_short(m['inputs'].get('model', {}).get('sha256'))}",
                    "tracking": f"manifest.json of run {m['run_id']}: recipe {m['recipe']['id']}, seed {m['seed']}, "
                                f"versions " + ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v)}
    return {"advised": bool(advice["recommendations"]), "candidates": advice["summary"]["candidates"],
            "digest": advice["knowledge_base"]["digest"], "existing_board": req.existing_board,
            "arena": arena, "energy": energy, "profiled": profiled, "model_note": advice["model"]["note"],
            "run": bool(run), "float_recipe": bool(m) and m["recipe"]["quantization"] != "int8",
            "quantized": quantized, "pruned": pruned, "distilled": distilled, "converted": converted,
            "exported": exported, "validated": validated, "manifest": manifest}
