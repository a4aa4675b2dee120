"""Issue 11, "Risks with precision and recall": eight pitfalls that fired where they should not (or not
where they should), each checked on realistic projects on both sides.

Each rule context is the one the solver builds for a (board, framework, recipe) stack from a real
questionnaire (the bundled examples, the acceptance deployments, or a small one written here), through
``advisor.solve.explain.stack_context``; the fired pitfalls come from ``pitfalls_for``, as in ``advise``.
Where the reference model cannot carry a property a profiled model would have (the heaviest layer's
MAC share), the context is overridden with ``apply_overrides``, the typed helper the pitfall cases use.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from advisor.kb.load import load_kb
from advisor.profile.basis import basis_for
from advisor.questionnaire.requirements import load_requirements
from advisor.rules.core import apply_overrides
from advisor.solve.explain import pitfalls_for, stack_context

from conftest import ROOT

EXAMPLES = ROOT / "examples"
ACCEPTANCE = ROOT / "tests" / "acceptance"


@pytest.fixture(scope="module")
def kb():
    return load_kb()


def _questionnaire(source: str | dict, tmp: Path) -> Path:
    """A questionnaire file: an example's name, an acceptance case's name, or a dict written out."""
    if isinstance(source, dict):
        data = source
    elif (EXAMPLES / source).exists():
        return EXAMPLES / source
    else:
        data = yaml.safe_load((ACCEPTANCE / source).read_text())["requirements"]
    path = tmp / "questionnaire.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _context(kb, tmp: Path, source, board: str, fw: str, recipe: str, **overrides) -> dict:
    req = load_requirements(_questionnaire(source, tmp), kb)
    ctx = stack_context(req, basis_for(req, kb), kb, board, fw, recipe)
    return apply_overrides(ctx, {k.replace("__", "."): v for k, v in overrides.items()}) if overrides else ctx


def _fired(kb, ctx: dict) -> dict:
    return {p.id: p for p in pitfalls_for(ctx, kb)}


PERSON_CAMERA = "person-detection-camera.yaml"  # VWW, 96x96x3, camera, Wi-Fi, personal data
KWS = {"project": "Kitchen keyword spotter", "task": "keyword-spotting", "input": {"kind": "audio"},
       "num_classes": 12, "latency_ms": 200, "inferences_per_s": 1, "sensors": ["microphone"],
       "connectivity": ["ble"], "data": "labelled"}


# 1. model-in-external-flash -------------------------------------------------------------------------

@pytest.mark.parametrize("source, board", [
    (PERSON_CAMERA, "esp32-s3-eye"),            # ESP32-S3: no internal flash, XIP from the module's QSPI flash
    (PERSON_CAMERA, "seeed-xiao-esp32s3-sense"),
    ("imu-gesture.yaml", "arduino-nano-rp2040-connect"),  # RP2040
    ("imu-gesture.yaml", "raspberry-pi-pico-2"),          # RP2350
])
def test_model_in_external_flash_is_quiet_where_xip_is_the_design(kb, tmp_path, source, board):
    ctx = _context(kb, tmp_path, source, board, "tflite-micro", "int8-ptq")
    assert ctx["board"]["flash_kb"] == 0.0 and ctx["board"]["ext_flash_kb"] > 0.0
    assert ctx["est"]["flash_kb"] > ctx["board"]["flash_kb"]  # the old condition fired here
    assert "model-in-external-flash" not in _fired(kb, ctx)


def test_model_in_external_flash_fires_when_the_model_spills_out_of_internal_flash(kb, tmp_path):
    # MLPerf Tiny AD autoencoder kept in float32 on the EK-RA6M4: 1 MB internal flash, OSPI flash on the kit.
    source = "mlperf-v07-renesas-ad-ek-ra6m4.yaml"
    ctx = _context(kb, tmp_path, source, "ek-ra6m4", "tflite-micro", "float32")
    assert ctx["est"]["flash_kb"] > ctx["board"]["flash_kb"] > 0.0
    assert "model-in-external-flash" in _fired(kb, ctx)
    # the int8 model fits the internal flash: quiet
    ctx = _context(kb, tmp_path, source, "ek-ra6m4", "tflite-micro", "int8-ptq")
    assert "model-in-external-flash" not in _fired(kb, ctx)


def test_model_in_external_flash_cites_no_psram_page(kb):
    refs = [s.ref for s in kb.pitfalls["model-in-external-flash"].sources]
    assert not any("external-ram" in r or "psram" in r.lower() for r in refs), refs


# 2. dominant-layer ----------------------------------------------------------------------------------

def test_dominant_layer_is_quiet_when_latency_is_far_inside_the_budget(kb, tmp_path):
    q = {"project": "ToF hand posture", "task": "gesture-recognition", "input": {"kind": "other", "shape": [8, 8, 2]},
         "num_classes": 8, "latency_ms": 50, "inferences_per_s": 10, "data": "labelled"}
    ctx = _context(kb, tmp_path, q, "nucleo-u575zi-q", "tflite-micro", "int8-ptq",
                   model__largest_layer_macs_share=0.7, est__latency_ms=1.4)
    assert "dominant-layer" not in _fired(kb, ctx)


def test_dominant_layer_fires_when_the_model_uses_most_of_the_budget(kb, tmp_path):
    # CIFAR-10 ResNet on a Cortex-M4 at 120 MHz, with a 500 ms budget: ~436 ms estimated.
    q = {"project": "Parts sorter", "task": "image-classification", "input": {"kind": "image", "shape": [32, 32, 3]},
         "num_classes": 10, "latency_ms": 500, "inferences_per_s": 1, "data": "labelled"}
    ctx = _context(kb, tmp_path, q, "nucleo-l4r5zi", "tflite-micro", "int8-ptq", model__largest_layer_macs_share=0.7)
    assert ctx["est"]["latency_ms"] > 0.8 * 500
    assert "dominant-layer" in _fired(kb, ctx)
    # the same model and budget, but no layer dominates: quiet
    ctx = apply_overrides(ctx, {"model.largest_layer_macs_share": 0.3})
    assert "dominant-layer" not in _fired(kb, ctx)


# 3. camera-frame-buffer-ram -------------------------------------------------------------------------

@pytest.mark.parametrize("sensors", [["temperature"], ["proximity"], []])
def test_camera_frame_buffer_is_quiet_for_an_8x8_grid_without_a_camera(kb, tmp_path, sensors):
    q = {"project": "Thermal presence grid", "task": "image-classification", "input": {"kind": "image", "shape": [8, 8, 1]},
         "num_classes": 2, "latency_ms": 100, "inferences_per_s": 1, "sensors": sensors, "data": "labelled"}
    ctx = _context(kb, tmp_path, q, "arduino-nano-33-ble-sense", "tflite-micro", "int8-ptq")
    assert "camera-frame-buffer-ram" not in _fired(kb, ctx)


def test_camera_frame_buffer_fires_for_a_camera_on_a_small_sram_board(kb, tmp_path):
    ctx = _context(kb, tmp_path, PERSON_CAMERA, "arduino-nano-33-ble-sense", "tflite-micro", "int8-ptq")
    assert "camera-frame-buffer-ram" in _fired(kb, ctx)


@pytest.mark.parametrize("board", ["esp32-s3-eye", "arduino-nicla-vision"])  # PSRAM; 1 MB SRAM
def test_camera_frame_buffer_is_quiet_where_the_frame_fits(kb, tmp_path, board):
    ctx = _context(kb, tmp_path, PERSON_CAMERA, board, "tflite-micro", "int8-ptq")
    assert "camera-frame-buffer-ram" not in _fired(kb, ctx)


# 4. float-ops-left-in-model -------------------------------------------------------------------------

@pytest.mark.parametrize("recipe", ["float32", "float16"])
def test_float_ops_is_quiet_for_a_deliberate_float_recipe(kb, tmp_path, recipe):
    ctx = _context(kb, tmp_path, KWS, "stm32f746g-disco", "tflite-micro", recipe)
    assert ctx["est"]["float_ops_on_mcu"]  # the old condition fired here
    assert "float-ops-left-in-model" not in _fired(kb, ctx)


def test_float_ops_fires_when_a_quantized_recipe_leaves_float_ops(kb, tmp_path):
    ctx = _context(kb, tmp_path, KWS, "stm32f746g-disco", "tflite-micro", "dynamic-range")
    assert "float-ops-left-in-model" in _fired(kb, ctx)


# 5. privacy-data-leaves-device ----------------------------------------------------------------------

def test_privacy_is_quiet_for_a_radio_without_personal_data(kb, tmp_path):
    ctx = _context(kb, tmp_path, "vibration-anomaly.yaml", "esp32-s3-devkitc-1", "tflite-micro", "int8-ptq")
    assert ctx["req"]["connectivity"] == ["wifi"] and not ctx["req"]["privacy_sensitive"]
    assert "privacy-data-leaves-device" not in _fired(kb, ctx)


def test_privacy_fires_for_personal_data_with_a_link_but_not_as_high(kb, tmp_path):
    ctx = _context(kb, tmp_path, "kws-battery.yaml", "nrf52840-dk", "tflite-micro", "int8-ptq")
    fired = _fired(kb, ctx)
    assert "privacy-data-leaves-device" in fired
    assert fired["privacy-data-leaves-device"].severity != "high"


# 6. int8-output-resolution --------------------------------------------------------------------------

def test_int8_output_is_quiet_for_an_autoencoder_anomaly_score(kb, tmp_path):
    ctx = _context(kb, tmp_path, "vibration-anomaly.yaml", "b-u585i-iot02a", "tflite-micro", "int8-ptq")
    assert "int8-output-resolution" not in _fired(kb, ctx)


def test_int8_output_fires_for_a_regressed_value(kb, tmp_path):
    q = {"project": "Battery state-of-charge estimator", "task": "regression", "input": {"kind": "tabular", "shape": [1]},
         "num_classes": 0, "latency_ms": 100, "inferences_per_s": 1, "data": "labelled"}
    ctx = _context(kb, tmp_path, q, "nucleo-l476rg", "tflite-micro", "int8-ptq")
    assert "int8-output-resolution" in _fired(kb, ctx)


# 7. preprocessing-parity ----------------------------------------------------------------------------

@pytest.mark.parametrize("source, board", [
    ("vibration-anomaly.yaml", "b-u585i-iot02a"),
    ("imu-gesture.yaml", "adafruit-feather-nrf52840-sense"),
    ("tflm-magic-wand-arduino-nano-33-ble-sense.yaml", "arduino-nano-33-ble-sense"),
    ("mlperf-v05-reference-ad-nucleo-l4r5zi.yaml", "nucleo-l4r5zi"),  # audio autoencoder, log-mel front end
])
def test_preprocessing_parity_fires_without_a_model_file(kb, tmp_path, source, board):
    req = load_requirements(_questionnaire(source, tmp_path), kb)
    assert req.model_source == "reference"  # no model file: the old condition was silent
    ctx = stack_context(req, basis_for(req, kb), kb, board, "tflite-micro", "int8-ptq")
    assert "preprocessing-parity" in _fired(kb, ctx)


def test_preprocessing_parity_is_quiet_for_camera_images(kb, tmp_path):
    ctx = _context(kb, tmp_path, PERSON_CAMERA, "esp32-s3-eye", "tflite-micro", "int8-ptq")
    assert "preprocessing-parity" not in _fired(kb, ctx)


# 8. inference-rate-saturates-core -------------------------------------------------------------------

IC = {"project": "Parts sorter", "task": "image-classification", "input": {"kind": "image", "shape": [32, 32, 3]},
      "num_classes": 10, "data": "labelled"}


def test_inference_rate_fires_when_inference_takes_most_of_the_period(kb, tmp_path):
    ctx = _context(kb, tmp_path, {**IC, "inferences_per_s": 1.7}, "nucleo-l4r5zi", "tflite-micro", "int8-ptq")
    share = ctx["est"]["latency_ms"] * ctx["req"]["inferences_per_s"] / 1000.0
    assert 0.693 < share < 1.0  # below 100 %: the old condition was silent
    assert "inference-rate-saturates-core" in _fired(kb, ctx)


def test_inference_rate_is_quiet_with_time_left_for_capture_and_application(kb, tmp_path):
    ctx = _context(kb, tmp_path, {**IC, "inferences_per_s": 1.0}, "nucleo-l4r5zi", "tflite-micro", "int8-ptq")
    assert ctx["est"]["latency_ms"] * ctx["req"]["inferences_per_s"] / 1000.0 < 0.693
    assert "inference-rate-saturates-core" not in _fired(kb, ctx)


# all eight: sources are external documents, never seed files --------------------------------------

ISSUE_11 = ["model-in-external-flash", "dominant-layer", "camera-frame-buffer-ram", "float-ops-left-in-model",
            "privacy-data-leaves-device", "int8-output-resolution", "preprocessing-parity",
            "inference-rate-saturates-core"]


@pytest.mark.parametrize("pid", ISSUE_11)
def test_sources_are_external_documents(kb, pid):
    pitfall = kb.pitfalls[pid]
    assert pitfall.sources and len(pitfall.cases.fires) >= 1 and len(pitfall.cases.quiet) >= 2
    for s in pitfall.sources:
        assert s.kind != "seed" and not s.ref.startswith("shared/"), (pid, s.ref)
