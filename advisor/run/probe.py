"""``kb probe-ops``: check the knowledge base's TFLM operator claims against the installed runtime.

For each claimed (operator, dtype) a one-op model is built with TensorFlow, converted (int8 full
integer, int16 as 16x8, others as plain models with inputs of that dtype; a few edited after
conversion, see :mod:`advisor.run.opbuilders`), checked to really contain that operator on that
dtype, and run in the ``tflite-micro`` interpreter in a child process. A claim the runtime refuses,
or a crash, is a disagreement; a claim no model can be made for is "not-probed", with the reason.
TensorFlow is imported only here.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from advisor.kb.base import KnowledgeBase
from advisor.problems import Problem, ProblemError
from advisor.run.opbuilders import plans_for

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

PROBED_DTYPES = ("int8", "int16", "float32", "int32", "bool", "uint8")
PROBE_FRAMEWORKS = ("tflite-micro",)


@dataclass(frozen=True)
class ProbeResult:
    op: str
    dtype: str
    status: str  # agrees | disagrees | not-probed
    detail: str = ""
    method: str = ""  # how the one-op model was made (opbuilders.describe)


@dataclass
class ProbeReport:
    framework: str
    runtime: str
    results: list[ProbeResult] = field(default_factory=list)

    @property
    def disagreements(self) -> list[ProbeResult]:
        return [r for r in self.results if r.status == "disagrees"]

    def summary(self) -> dict:
        counts = {s: sum(r.status == s for r in self.results) for s in ("agrees", "disagrees", "not-probed")}
        total = len(self.results)
        return {**counts, "claims": total,
                "probed_percent": round(100 * (total - counts["not-probed"]) / total, 1) if total else 0.0}

    def as_dict(self) -> dict:
        return {"framework": self.framework, "runtime": self.runtime, "summary": self.summary(),
                "results": [r.__dict__ for r in self.results]}


def _runtime_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"tflite-micro {version('tflite-micro')}"
    except PackageNotFoundError:
        raise ProblemError([Problem("<environment>", 0, "", "the tflite-micro package is not installed",
                                    "environment", "pip install -e '.[ml]'")]) from None


def run_in_child(model: Path, timeout: float = 120.0) -> tuple[bool, str]:
    """Run ``model`` in the TFLM interpreter in a child process; (ok, reason)."""
    ok, reason, _arena = run_measured(model, timeout)
    return ok, reason


_ARENA_LINE = re.compile(r"Arena allocation (total|head|tail) (\d+) bytes")
_CATEGORY_LINE = re.compile(r"'([^']+)' used (\d+) bytes with alignment overhead \(requested (\d+) bytes for (\d+)")


def run_measured(model: Path, timeout: float = 120.0) -> tuple[bool, str, dict]:
    """Run ``model`` in the TFLM interpreter in a child process.

    Returns:
        (ok, reason, arena): arena has the RecordingMicroAllocator figures in bytes: ``total``,
        ``head`` (planned non-persistent buffers), ``tail`` (persistent allocations) and
        ``categories`` {name: {"used", "requested", "count"}}; empty when the run failed.
    """
    try:
        proc = subprocess.run([sys.executable, "-m", "advisor.run.tflm_child", str(model)],
                              capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return False, f"interpreter did not finish within {timeout:.0f} s", {}
    ok, reason = verdict_of(proc)
    return ok, reason, parse_allocations(proc.stdout + "\n" + proc.stderr) if ok else {}


def verdict_of(proc: subprocess.CompletedProcess) -> tuple[bool, str]:
    """(ok, reason) from a finished tflm_child: crashes, failed runs and unsupported ops become reasons."""
    if proc.returncode < 0:
        name = signal.Signals(-proc.returncode).name
        return False, f"interpreter crashed ({name}): {_last_line(proc.stderr)}"
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        return False, f"child failed (exit {proc.returncode}): {_last_line(proc.stderr or proc.stdout)}"
    verdict = json.loads(lines[-1])
    if not verdict["ok"]:
        return False, _op_message(proc.stderr + proc.stdout) or verdict["error"]
    return True, ""


def parse_allocations(report: str) -> dict:
    """The RecordingMicroAllocator report (split over stdout and stderr) as numbers."""
    arena: dict = {"categories": {}}
    for m in _ARENA_LINE.finditer(report):
        arena.setdefault(m.group(1), int(m.group(2)))
    for m in _CATEGORY_LINE.finditer(report):
        arena["categories"][m.group(1)] = {"used": int(m.group(2)), "requested": int(m.group(3)),
                                           "count": int(m.group(4))}
    return arena


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else "no output"


def _op_message(text: str) -> str:
    for line in text.splitlines():
        if "Didn't find op" in line or "not supported" in line.lower() or "Failed to" in line:
            return line.strip()
    return ""


def probe_claims(kb: KnowledgeBase, framework: str, wanted: list[str] | None, jobs: int = 2,
                 progress: bool = True) -> ProbeReport:
    """Probe every claimed (op, dtype) of ``framework``'s operator set (or only ``wanted`` ops).

    Raises:
        ProblemError: unknown framework or op, a framework we have no runtime for, no tflite-micro.
    """
    fw = kb.frameworks.get(framework)
    if fw is None or framework not in PROBE_FRAMEWORKS or not fw.operators:
        raise ProblemError([Problem("<command line>", 0, "--framework",
                                    f"cannot probe '{framework}': the installed runtime is tflite-micro",
                                    "usage", "use --framework tflite-micro")])
    opset = kb.operator_sets[fw.operators]
    claimed = {op.name: op for op in opset.ops}
    if wanted:
        unknown = [w for w in wanted if w not in claimed]
        if unknown:
            raise ProblemError([Problem("<command line>", 0, "--ops", f"'{u}' is not claimed by {opset.id}",
                                        "usage") for u in unknown])
    names = wanted or sorted(claimed)
    report = ProbeReport(framework, _runtime_version())
    jobs_list = [(n, d) for n in names for d in PROBED_DTYPES if d in claimed[n].dtypes]
    results = _probe_all(jobs_list, jobs, progress)
    report.results = sorted(results, key=lambda r: (r.op, r.dtype))
    return report


def _probe_all(pairs: list[tuple[str, str]], jobs: int, progress: bool) -> list[ProbeResult]:
    from advisor.run.opbuilders import build_tflite  # imports TensorFlow

    out: list[ProbeResult] = []
    # NOTE: each model runs in the interpreter as soon as it is built, so conversions (in this
    # process) and interpreter runs (child processes) overlap.
    with tempfile.TemporaryDirectory(prefix="probe-ops-") as tmp, ThreadPoolExecutor(max_workers=jobs) as pool:
        models: list[tuple[str, str, str, Future]] = []
        for op, dtype in _progress(pairs, "building and running one-op models", progress):
            if not plans_for(op, dtype):
                out.append(ProbeResult(op, dtype, "not-probed", f"no one-op model builder for {op} on {dtype}"))
                continue
            try:
                data, ops_in_model, method = build_tflite(op, dtype)
            except Exception as exc:  # noqa: BLE001 - a converter failure is a probe gap, not a verdict
                out.append(ProbeResult(op, dtype, "not-probed", f"could not build: {str(exc).splitlines()[0][:120]}"))
                continue
            if dtype not in ops_in_model.get(op, ()):
                got = ", ".join(f"{k}({'/'.join(sorted(v))})" for k, v in sorted(ops_in_model.items()))
                out.append(ProbeResult(op, dtype, "not-probed", f"converter produced {got}, not {op} on {dtype}",
                                       method))
                continue
            path = Path(tmp) / f"{op}-{dtype}.tflite"
            path.write_bytes(data)
            models.append((op, dtype, method, pool.submit(run_in_child, path)))
        for op, dtype, method, verdict in models:
            ok, reason = verdict.result()
            out.append(ProbeResult(op, dtype, "agrees" if ok else "disagrees", reason, method))
    return out


def _progress(items, label: str, enabled: bool, total: int | None = None):
    if not enabled:
        yield from items
        return
    from rich.progress import track

    yield from track(items, description=label, total=total, transient=True)


