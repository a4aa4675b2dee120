"""Write bench/data/mlperf_tiny_validation.csv from MLPerf Tiny result repositories of later rounds.

The rows validate the latency estimator and are never used to fit it (the fitting data is the v0.5-v1.0
calibration CSV in the team's shared data). For every ``closed/<submitter>/results/<system>/<benchmark>/
performance/results.txt`` the median throughput is read, and the system description JSON next to it gives
the board facts (board, SoC, processor, clock, accelerator, framework). The normalised ``core`` and
``framework_family`` columns are this script's reading of those free-text facts (rules below); a row whose
processor names no core the knowledge base knows gets an empty ``core``.

Run: python bench/data/extract_mlperf_validation.py /work/.mirror/mlcommons+tiny_results_v1.1/repo ...
(each argument a bare git directory of one round, as the ``fetch`` tool leaves it).
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

OUT = Path(__file__).with_name("mlperf_tiny_validation.csv")
FIELDS = ["round", "submitter", "system_id", "board", "soc", "processor", "core", "clock_mhz", "accelerator",
          "inference_framework", "software_libraries", "framework_family", "framework_version", "benchmark",
          "throughput_inf_per_s", "latency_ms", "energy_uj_per_inf", "source", "source_energy", "source_system"]
# (pattern in the processor name, core id); first match wins, so the longer names come first.
CORES = [(r"cortex[-®\s]*m85", "cortex-m85"), (r"cortex[-®\s]*m55", "cortex-m55"), (r"cortex[-®\s]*m33", "cortex-m33"),
         (r"cortex[-®\s]*m7", "cortex-m7"), (r"cortex[-®\s]*m4", "cortex-m4"), (r"cortex[-®\s]*m3\b", "cortex-m3"),
         (r"cortex[-®\s]*m0\+|cortex[-®\s]*m0plus", "cortex-m0plus"), (r"cortex[-®\s]*m0", "cortex-m0")]
# (pattern in the framework + libraries text, family); first match wins.
FAMILIES = [(r"x-cube-ai|stm32cube\.ai|st ?edge[- ]ai", "X-CUBE-AI"), (r"plumerai", "Plumerai"),
            (r"microtvm.*cmsis|cmsis.*microtvm", "microTVM + CMSIS-NN"), (r"microtvm", "microTVM"),
            (r"hale", "Bosch HALE"), (r"skymizer|onnc", "ONNC"),
            (r"(tensorflow lite|tflite|tflm).*(cmsis)", "TFLM + CMSIS-NN"), (r"tensorflow lite|tflite|tflm", "TFLM")]


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "--git-dir", str(repo), *args], check=True, capture_output=True,
                          text=True, errors="replace").stdout


def first_nonempty(pairs: list) -> dict:
    """JSON object hook: submitters repeat keys with empty values; keep the first non-empty one."""
    out: dict = {}
    for k, v in pairs:
        k = k.strip()
        if k not in out or (out[k] in ("", None) and v not in ("", None)):
            out[k] = v
    return out


def system_facts(repo: Path, commit: str, path: str) -> dict:
    try:
        return json.loads(git(repo, "show", f"{commit}:{path}"), object_pairs_hook=first_nonempty)
    except (subprocess.CalledProcessError, json.JSONDecodeError):
        return {}


def text(value) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k} {v}" for k, v in value.items() if v)
    return str(value or "").strip()


def clock_mhz(freq: str) -> str:
    m = re.search(r"([\d.]+)\s*(g|m)hz", freq, re.IGNORECASE)
    if not m:
        return ""
    value = float(m.group(1)) * (1000.0 if m.group(2).lower() == "g" else 1.0)
    return f"{value:g}"


def match(table: list, value: str) -> str:
    return next((name for pattern, name in table if re.search(pattern, value, re.IGNORECASE)), "")


def median_from(log: str, unit: str) -> float | None:
    m = re.search(rf"Median {unit} is\s+([\d.]+)", log)  # energy: "Median energy cost is"
    return float(m.group(1)) if m else None


def rows_for(repo: Path, round_: str, url: str) -> list[dict]:
    commit = git(repo, "rev-parse", "HEAD").strip()
    files = git(repo, "ls-tree", "-r", "--name-only", commit).splitlines()
    systems = {p for p in files if "/systems/" in p and p.endswith(".json")}
    out = []
    for path in sorted(p for p in files if p.endswith("/performance/results.txt")):
        parts = path.split("/")
        if len(parts) != 7 or parts[2] != "results":
            continue
        division, submitter, _, system, bench, _, _ = parts
        log = git(repo, "show", f"{commit}:{path}")
        thr = median_from(log, "throughput")
        if thr is None or thr <= 0 or bench not in ("ad", "ic", "kws", "vww"):
            continue
        sys_path = f"{division}/{submitter}/systems/{system}.json"
        facts = system_facts(repo, commit, sys_path) if sys_path in systems else {}
        energy_path = path.replace("/performance/", "/energy/")
        energy = median_from(git(repo, "show", f"{commit}:{energy_path}"), "energy cost") \
            if energy_path in files else None
        framework = text(facts.get("Inference Framework"))
        libraries = text(facts.get("Software Libraries"))
        stack = f"{framework} {libraries} {system}"
        version = re.search(r"(\d+\.\d+(?:\.\d+)?)", framework)
        out.append({
            "round": round_, "submitter": submitter, "system_id": system, "board": text(facts.get("Board Name")),
            "soc": text(facts.get("SoC Name")), "processor": text(facts.get("Processor(s) Name")),
            "core": match(CORES, text(facts.get("Processor(s) Name"))),
            "clock_mhz": clock_mhz(text(facts.get("Processor(s) Frequencies"))),
            "accelerator": text(facts.get("Accelerator")), "inference_framework": framework,
            "software_libraries": libraries, "framework_family": match(FAMILIES, stack),
            "framework_version": version.group(1) if version else "", "benchmark": bench,
            "throughput_inf_per_s": f"{thr:g}", "latency_ms": f"{1000.0 / thr:.4f}",
            "energy_uj_per_inf": f"{energy:g}" if energy else "",
            "source": f"{url}/blob/{commit}/{path}",
            "source_energy": f"{url}/blob/{commit}/{energy_path}" if energy else "",
            "source_system": f"{url}/blob/{commit}/{sys_path}" if facts else ""})
    return out


def main(repos: list[str]) -> None:
    rows = []
    for repo in repos:
        name = Path(repo).parent.name.split("+", 1)[1]  # tiny_results_v1.1
        rows += rows_for(Path(repo), name.rsplit("_", 1)[1], f"https://github.com/mlcommons/{name}")
    with OUT.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    print(f"{len(rows)} rows -> {OUT}")


if __name__ == "__main__":
    main(sys.argv[1:])
