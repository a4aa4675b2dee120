"""Export for firmware: the model as an aligned C array, and a TFLM benchmark harness (main.cc) sized from the
measurement; project skeletons (Arduino sketch, ESP-IDF project, Zephyr application) around those files."""

from __future__ import annotations

import math
import re

from advisor.run.paths import write_artifact
from advisor.run.steps.runctx import RunContext, StepFailed

ALIGN = 16
# Resolver methods whose names do not follow the CamelCase rule below.
RESOLVER_EXCEPTIONS = {"RELU_N1_TO_1": "ReluN1To1", "L2_NORMALIZATION": "L2Normalization",
                       "L2_POOL_2D": "L2Pool2D", "UNIDIRECTIONAL_SEQUENCE_LSTM": "UnidirectionalSequenceLSTM",
                       "SVDF": "Svdf", "BATCH_MATMUL": "BatchMatMul", "CUMSUM": "CumSum"}
# How the harness fills each input dtype from the fixed pattern (advisor.run.tflm_child.fixed_input does the
# same on the host; the field names are TfLitePtrUnion's, tensorflow/tflite-micro:tensorflow/lite/core/c/common.h): (C type, TfLitePtrUnion field, C expression of element i).
INPUT_FILL = {"INT8": ("int8_t", "int8", "static_cast<int8_t>(pattern(i))"),
              "UINT8": ("uint8_t", "uint8", "static_cast<uint8_t>(pattern(i) + 128)"),
              "INT16": ("int16_t", "i16", "static_cast<int16_t>(pattern(i))"),
              "INT32": ("int32_t", "i32", "pattern(i)"),
              "FLOAT32": ("float", "f", "static_cast<float>(pattern(i)) / 128.0f")}
INPUT_NOTE = {"UINT8": ", plus 128", "FLOAT32": ", divided by 128"}
# How it prints output values: (C type, printf format, C expression). newlib-nano's printf has no %f by
# default, so floats are printed as integers in millionths.
OUTPUT_PRINT = {"INT8": ("int8_t", "%d", "static_cast<int>(output->data.int8[i])"),
                "UINT8": ("uint8_t", "%d", "static_cast<int>(output->data.uint8[i])"),
                "INT16": ("int16_t", "%d", "static_cast<int>(output->data.i16[i])"),
                "INT32": ("int32_t", "%ld", "static_cast<long>(output->data.i32[i])"),
                "FLOAT32": ("float", "%ld", "static_cast<long>(output->data.f[i] * 1e6f)")}
PRINTED_OUTPUTS = 16  # as many as advisor.run.tflm_child.FIXED_OUTPUT_VALUES


def resolver_method(op: str) -> str:
    """TFLite builtin name -> MicroMutableOpResolver method, e.g. DEPTHWISE_CONV_2D -> AddDepthwiseConv2D."""
    if op in RESOLVER_EXCEPTIONS:
        return "Add" + RESOLVER_EXCEPTIONS[op]
    return "Add" + "".join(part.capitalize() if not re.fullmatch(r"\d+D", part) else part for part in op.split("_"))


def _templates():
    import jinja2

    from advisor.resources import TEMPLATES

    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), undefined=jinja2.StrictUndefined,
                              autoescape=False, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def harness_source(profile, host_checksum: str | None) -> str:
    """main.cc: the benchmark harness for a profiled model (templates/fw-main.cc.j2).

    Raises:
        StepFailed: the model's first input or output has a dtype the harness cannot fill or print.
    """
    inp, out = profile.inputs[0], profile.outputs[0]
    if inp["dtype"] not in INPUT_FILL:
        raise StepFailed(f"the benchmark harness fills {', '.join(INPUT_FILL)} inputs, not {inp['dtype']}")
    c_type, field, fill = INPUT_FILL[inp["dtype"]]
    # NOTE: an output of another dtype is printed as its raw bytes; the checksum covers it either way.
    out_c_type, out_format, out_value = OUTPUT_PRINT.get(out["dtype"], ("uint8_t", "%d",
                                                                        "static_cast<int>(output->data.uint8[i])"))
    return _templates().get_template("fw-main.cc.j2").render(
        ops=profile.ops, resolver=[resolver_method(op) for op in profile.ops],
        input_shape="x".join(map(str, inp["shape"])), input_dtype=inp["dtype"].lower(),
        input_note=INPUT_NOTE.get(inp["dtype"], ""), c_type=c_type, field=field, fill=fill,
        output_shape="x".join(map(str, out["shape"])), output_dtype=out["dtype"].lower(), out_c_type=out_c_type,
        out_format=out_format, out_value=out_value, printed_outputs=PRINTED_OUTPUTS,
        output_note=", in millionths" if out["dtype"] == "FLOAT32" else "",
        host_checksum=host_checksum or "not measured")


def export_c(ctx: RunContext, params: dict) -> dict:
    from advisor.profile.model import load_model

    if ctx.tflite_path is None:
        raise StepFailed("nothing to export: no converted model (add a convert step before export-c)")
    data = ctx.tflite_path.read_bytes()
    profile = load_model(ctx.tflite_path)
    tflm = ctx.metrics.get("tflm", {})
    measured = tflm.get("arena_bytes")
    basis = "measured in the tflite-micro interpreter" if measured else "estimated by the profiler"
    arena = measured or profile.plan.arena_bytes
    arena = int(math.ceil(arena * (1 + params["arena_margin_pct"] / 100) / 1024) * 1024)
    rows = [", ".join(f"0x{b:02x}" for b in data[i:i + 12]) for i in range(0, len(data), 12)]
    header = ("// Generated by tinyml-advisor: the model as a C array.\n#pragma once\n\n#include <cstddef>\n\n"
              f"extern const unsigned char g_model[];\nextern const size_t g_model_len;\n"
              f"constexpr size_t kTensorArenaSize = {arena};  // {basis} + {params['arena_margin_pct']:g}% margin, "
              f"rounded up to 1 KiB\n")
    source = ("// Generated by tinyml-advisor from model.tflite.\n#include \"model_data.h\"\n\n"
              f"alignas({ALIGN}) const unsigned char g_model[] = {{\n  " + ",\n  ".join(rows) + "\n};\n"
              f"const size_t g_model_len = {len(data)};\n")
    main = harness_source(profile, tflm.get("checksum"))
    out = ctx.run_dir / "firmware"
    out.mkdir(exist_ok=True)
    for name, text in (("model_data.h", header), ("model_data.cc", source), ("main.cc", main)):
        write_artifact(out / name, text)  # NOTE: an OSError (disk full) fails the step; the runner removes the rest
        ctx.artifacts[f"firmware/{name}"] = out / name
    return {"arena_bytes": arena, "arena_basis": basis, "ops": list(profile.ops), "model_bytes": len(data),
            "harness": "benchmark", "host_checksum": tflm.get("checksum")}


# Platforms a project skeleton exists for, by the board entry's `os:` name; each file's template.
PROJECTS = {
    "arduino": (("{sketch}/{sketch}.ino", "fw-arduino.ino.j2"), ("{sketch}/model_data.h", None),
                ("{sketch}/model_data.cpp", None), ("{sketch}/benchmark.cpp", None)),
    "esp-idf": (("CMakeLists.txt", "fw-esp-idf-project.cmake.j2"), ("main/CMakeLists.txt", "fw-esp-idf-main.cmake.j2"),
                ("main/idf_component.yml", "fw-esp-idf-component.yml.j2"), ("main/model_data.h", None),
                ("main/model_data.cc", None), ("main/main.cc", None)),
    "zephyr": (("CMakeLists.txt", "fw-zephyr.cmake.j2"), ("prj.conf", "fw-zephyr-prj.conf.j2"),
               ("src/model_data.h", None), ("src/model_data.cc", None), ("src/main.cc", None)),
}
SKETCH = "tinyml_benchmark"


def project_files(platform: str, firmware: dict[str, str], project: str) -> dict[str, str]:
    """The files of one platform's project skeleton around the exported firmware files.

    Args:
        platform: a key of ``PROJECTS`` (a board's ``os:`` name).
        firmware: the run's ``model_data.h``, ``model_data.cc`` and ``main.cc`` texts by file name.
        project: the project's name (a comment in the build files).
    Returns:
        Relative path -> text; the firmware files are copied unchanged (Arduino compiles .cpp, not .cc).
    """
    env = _templates()
    project = " ".join(re.sub(r"[^A-Za-z0-9 _.,()-]", " ", project).split())[:80] or "this project"
    copies = {"model_data.h": "model_data.h", "model_data.cpp": "model_data.cc", "model_data.cc": "model_data.cc",
              "benchmark.cpp": "main.cc", "main.cc": "main.cc"}
    files = {}
    for pattern, template in PROJECTS[platform]:
        path = pattern.format(sketch=SKETCH)
        name = path.rsplit("/", 1)[-1]
        files[path] = env.get_template(template).render(project=project, sketch=SKETCH) if template \
            else firmware[copies[name]]
    return files
