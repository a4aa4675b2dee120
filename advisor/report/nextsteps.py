"""Next steps on the device: a short plan for the recommended board, and the project skeletons to flash.

The plan names the board's platforms (its ``os:`` list), the timer the harness uses on its core, and the
figures to record against the host's: checksum, arena, time per inference.
"""

from __future__ import annotations

import re
from pathlib import Path

from advisor.run.steps.export import PROJECTS, SKETCH, project_files

# Cores whose Armv7-M / Armv8-M mainline architecture has the DWT cycle counter (the harness's
# TINYML_HAVE_DWT test, ARM-software/CMSIS_5:CMSIS/Core/Include/core_cm4.h); M0/M0+ (Armv6-M) have none.
DWT_CORES = ("cortex-m3", "cortex-m4", "cortex-m4f", "cortex-m7", "cortex-m33", "cortex-m55", "cortex-m85")
# How each platform's project is built and flashed (the platform's own tools; board names are the team's).
BUILD = {"arduino": f"open firmware/arduino/{SKETCH}/ in the Arduino IDE (or arduino-cli compile --upload -b <FQBN>) "
                    "with the TensorFlow Lite Micro Arduino library installed, then open the serial monitor at 115200",
         "esp-idf": "cd firmware/esp-idf && idf.py set-target {chip} && idf.py build flash monitor",
         "zephyr": "west build -b <zephyr board name> firmware/zephyr && west flash, then read the console"}
# ESP-IDF target names of the chips (the text/value pairs of espressif/esptool:docs/_static/esptool_versions.js).
IDF_TARGETS = {"": "esp32", "S2": "esp32s2", "S3": "esp32s3", "C2": "esp32c2", "C3": "esp32c3", "C6": "esp32c6",
               "H2": "esp32h2"}


def idf_target(part: str, core: str) -> str:
    """``idf.py set-target`` name of a board's chip ("ESP32-S3R8 (in ...)" -> esp32s3), or <chip> if unsure.

    NOTE: of the ESP-IDF targets only the original ESP32 has Xtensa LX6 cores (espressif/esp-idf:
    docs/en/get-started/index.rst), so an LX6 part such as ESP32-D0WD-V3 is target esp32.
    """
    m = re.match(r"ESP32(?:-([A-Z]\d))?", part)
    if m is None:
        return "<chip>"
    if core == "xtensa-lx6":
        return "esp32"
    return IDF_TARGETS.get(m.group(1) or "", "<chip>")


def timer_for(board) -> str:
    core = board.mcu.main_core.core
    if "esp-idf" in board.os:
        return "esp_timer_get_time() (microseconds)"
    if core in DWT_CORES:
        return "the DWT cycle counter (cycles; divide by the clock for time) and the platform's microsecond timer"
    return f"the platform's microsecond timer only ({core} has no DWT cycle counter the harness can use)"


def plan(board, run: dict | None, rec: dict, arena: dict) -> dict:
    """The device plan: platforms with a skeleton, the steps, and the figures to record (host value beside)."""
    platforms = [p for p in board.os if p in PROJECTS]
    tflm = (run or {}).get("metrics", {}).get("tflm") or {}
    has_fw = bool(run) and any(s["uses"] == "export-c" and s["status"] == "ok" for s in run["manifest"]["steps"])
    core = board.mcu.main_core
    steps = []
    if not has_fw:
        steps.append("run the recipe (tinyml-advisor run) and report with --run: it exports model_data.cc/.h and "
                     "the benchmark harness main.cc")
    if platforms:
        steps += [f"{p}: {BUILD[p].format(chip=idf_target(board.mcu.part, board.mcu.main_core.core))}" for p in platforms]
    else:
        steps.append(f"{board.id} lists no platform with a skeleton here ({', '.join(board.os)}): add "
                     "firmware/main.cc and model_data.cc to the vendor's project with TFLM and flash it")
    steps += ["read the lines starting with 'tinyml-advisor' and fill in the figures below",
              "compare: the checksum must equal the host's for an int8 model (a float model may differ in the last "
              "bits: compare the printed outputs instead); arena_used_bytes against the host measurement; the time "
              "against the estimate",
              "when the time is far from the estimate, check that the optimized kernels are linked "
              "(see the conversion-and-deployment risks)"]
    est_ms = rec["estimates"]["latency_ms"]
    record = [{"figure": "output checksum (fixed input)", "host": tflm.get("checksum"), "device": None},
              {"figure": "arena_used_bytes", "host": arena["measured_bytes"], "device": None},
              {"figure": "kTensorArenaSize in the firmware", "host": arena["firmware_bytes"], "device": None},
              {"figure": "Invoke time, ms (estimate)", "host": round(est_ms, 2) if est_ms else None, "device": None},
              {"figure": f"Invoke cycles at {core.clock_mhz:g} MHz (estimate)",
               "host": round(est_ms * core.clock_mhz * 1e3) if est_ms and core.core in DWT_CORES else None,
               "device": None},
              {"figure": "current during Invoke and asleep (power analyser)", "host": None, "device": None}]
    return {"board": board.id, "board_name": board.name, "core": core.core, "clock_mhz": core.clock_mhz,
            "platforms": platforms, "timer": timer_for(board), "steps": steps, "record": record,
            "firmware_ready": has_fw}


def projects(board, run: dict | None, project: str) -> dict[str, str]:
    """``firmware/<platform>/...`` -> text for the report folder: the run's firmware files in a skeleton for
    each platform the board supports; {} without an exported run."""
    if not run or not any(s["uses"] == "export-c" and s["status"] == "ok" for s in run["manifest"]["steps"]):
        return {}
    folder = Path(run["dir"]) / "firmware"
    try:
        firmware = {n: (folder / n).read_text(encoding="utf-8") for n in ("model_data.h", "model_data.cc", "main.cc")}
    except (OSError, UnicodeDecodeError):
        return {}
    files = {}
    for platform in (p for p in board.os if p in PROJECTS):
        for rel, text in project_files(platform, firmware, project).items():
            files[f"firmware/{platform}/{rel}"] = text
    return files
