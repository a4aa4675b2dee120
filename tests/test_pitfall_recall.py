"""Issue 11, "Risks with precision and recall": foreseeable pitfalls that were missing, each checked on
realistic projects on both sides (fires for the class it covers, quiet elsewhere).

The rule contexts are built as in ``test_pitfall_precision.py``: from a questionnaire (a bundled example
or a small one written here) through ``advisor.solve.explain.stack_context``, and the fired pitfalls
come from ``pitfalls_for``. Where the reference model cannot carry a property a profiled model would
have (a larger RAM footprint), the context is overridden with ``apply_overrides``.
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


@pytest.fixture(scope="module")
def kb():
    return load_kb()


def _context(kb, tmp: Path, source, board: str, fw: str = "tflite-micro", recipe: str = "int8-ptq",
             **overrides) -> dict:
    """The rule context of a stack for a questionnaire: an example's file name or a dict written out."""
    if isinstance(source, dict):
        path = tmp / "questionnaire.yaml"
        path.write_text(yaml.safe_dump(source, sort_keys=False))
    else:
        path = EXAMPLES / source
    req = load_requirements(path, kb)
    ctx = stack_context(req, basis_for(req, kb), kb, board, fw, recipe)
    return apply_overrides(ctx, {k.replace("__", "."): v for k, v in overrides.items()}) if overrides else ctx


def _fired(kb, ctx: dict) -> set[str]:
    return {p.id for p in pitfalls_for(ctx, kb)}


PERSON_CAMERA = "person-detection-camera.yaml"  # VWW, 96x96x3, camera, Wi-Fi, 500 ms
KWS_BATTERY = "kws-battery.yaml"                # KWS, 2000 mAh, BLE, 200 ms
KWS = {"project": "Kitchen keyword spotter", "task": "keyword-spotting", "input": {"kind": "audio"},
       "num_classes": 12, "latency_ms": 200, "inferences_per_s": 1, "sensors": ["microphone"],
       "connectivity": ["ble"], "data": "labelled"}
IC = {"project": "Parts sorter", "task": "image-classification", "input": {"kind": "image", "shape": [32, 32, 3]},
      "num_classes": 10, "latency_ms": 500, "inferences_per_s": 1, "data": "labelled"}


# 1. optimized-kernels-not-enabled -------------------------------------------------------------------

@pytest.mark.parametrize("source, board", [
    (IC, "nucleo-l4r5zi"),               # ResNet-8 on a Cortex-M4: ~436 ms of a 500 ms budget with CMSIS-NN
    (PERSON_CAMERA, "esp32-devkitc-v4"),  # VWW on the ESP32: ~398 ms of 500 ms with ESP-NN
    (PERSON_CAMERA, "esp32-c3-devkitm-1"),  # ESP32-C3: ESP-NN 426 ms vs reference 3355 ms (esp-tflite-micro README)
])
def test_optimized_kernels_fires_when_the_budget_needs_them(kb, tmp_path, source, board):
    ctx = _context(kb, tmp_path, source, board)
    assert ctx["est"]["kernel"] in ("cmsis-nn", "esp-nn")
    assert "optimized-kernels-not-enabled" in _fired(kb, ctx)


@pytest.mark.parametrize("source, board, fw, recipe", [
    (KWS, "nucleo-h743zi2", "tflite-micro", "int8-ptq"),    # 23 ms of 200 ms: fits even 3x slower
    (KWS, "stm32f746g-disco", "tflite-micro", "int8-ptq"),  # 52 ms of 200 ms
    (IC, "nucleo-l4r5zi", "microtvm", "int8-ptq"),           # a compiler emits its own kernel calls
    (IC, "nucleo-l4r5zi", "tflite-micro", "float32"),        # float runs on reference kernels anyway
])
def test_optimized_kernels_is_quiet_elsewhere(kb, tmp_path, source, board, fw, recipe):
    ctx = _context(kb, tmp_path, source, board, fw, recipe)
    assert "optimized-kernels-not-enabled" not in _fired(kb, ctx)


# 2. camera-uint8-into-int8-model --------------------------------------------------------------------

@pytest.mark.parametrize("board", ["esp32-s3-eye", "arduino-nicla-vision"])
def test_camera_uint8_fires_for_a_camera_and_an_int8_model(kb, tmp_path, board):
    ctx = _context(kb, tmp_path, PERSON_CAMERA, board)
    assert ctx["model"]["input_dtype"] == "int8"
    assert "camera-uint8-into-int8-model" in _fired(kb, ctx)


def test_camera_uint8_is_quiet_for_a_float_recipe_or_no_camera(kb, tmp_path):
    ctx = _context(kb, tmp_path, PERSON_CAMERA, "esp32-s3-eye", recipe="float32")
    assert "camera-uint8-into-int8-model" not in _fired(kb, ctx)
    # uint8-input model (converted with inference_input_type uint8): pixels fit as they are
    ctx = _context(kb, tmp_path, PERSON_CAMERA, "esp32-s3-eye", model__input_dtype="uint8")
    assert "camera-uint8-into-int8-model" not in _fired(kb, ctx)
    thermal = {"project": "Thermal presence grid", "task": "image-classification",
               "input": {"kind": "image", "shape": [8, 8, 1]}, "num_classes": 2, "latency_ms": 100,
               "inferences_per_s": 1, "sensors": ["temperature"], "data": "labelled"}
    ctx = _context(kb, tmp_path, thermal, "arduino-nano-33-ble-sense")
    assert "camera-uint8-into-int8-model" not in _fired(kb, ctx)


# 3. audio-front-end-not-in-estimate -----------------------------------------------------------------

@pytest.mark.parametrize("board", ["nrf52840-dk", "arduino-nano-33-ble-sense"])
def test_audio_front_end_fires_for_battery_powered_audio(kb, tmp_path, board):
    ctx = _context(kb, tmp_path, KWS_BATTERY, board)
    assert "audio-front-end-not-in-estimate" in _fired(kb, ctx)


def test_audio_front_end_is_quiet_on_mains_or_without_audio(kb, tmp_path):
    ctx = _context(kb, tmp_path, KWS, "nrf52840-dk")  # mains-powered kitchen device
    assert ctx["req"]["battery_mah"] == 0.0
    assert "audio-front-end-not-in-estimate" not in _fired(kb, ctx)
    imu = yaml.safe_load((EXAMPLES / "imu-gesture.yaml").read_text())
    imu["power"] = {"battery_mah": 500, "lifetime_days": 30}
    ctx = _context(kb, tmp_path, imu, "adafruit-feather-nrf52840-sense")
    assert ctx["req"]["battery_mah"] > 0.0
    assert "audio-front-end-not-in-estimate" not in _fired(kb, ctx)


# 4. accuracy-target-above-reference -----------------------------------------------------------------

@pytest.mark.parametrize("source, target", [(KWS, 95), (IC, 92), (PERSON_CAMERA, 90)])
def test_accuracy_target_fires_above_the_reference_accuracy(kb, tmp_path, source, target):
    q = dict(yaml.safe_load((EXAMPLES / source).read_text())) if isinstance(source, str) else dict(source)
    q["accuracy"] = {**q.get("accuracy", {}), "target_pct": target}
    ctx = _context(kb, tmp_path, q, "nucleo-h743zi2")
    assert "accuracy-target-above-reference" in _fired(kb, ctx)


def test_accuracy_target_is_quiet_within_reach_or_for_another_problem(kb, tmp_path):
    for source in (KWS_BATTERY, PERSON_CAMERA):  # 90 % KWS, 80 % VWW
        ctx = _context(kb, tmp_path, source, "nucleo-h743zi2")
        assert "accuracy-target-above-reference" not in _fired(kb, ctx)
    # 98 % on a 3-class keyword set: not the benchmark's 12-class problem, no figure says it is out of reach
    own = {**KWS, "num_classes": 3, "accuracy": {"target_pct": 98}}
    ctx = _context(kb, tmp_path, own, "nucleo-h743zi2")
    assert ctx["req"]["num_classes"] == 3.0
    assert "accuracy-target-above-reference" not in _fired(kb, ctx)


# 5. radio-stack-ram ---------------------------------------------------------------------------------

def test_radio_stack_ram_fires_when_wifi_has_no_room_left(kb, tmp_path):
    # a profiled 256 KB-footprint detector on a Pico W (264 KB SRAM) that must use Wi-Fi
    ctx = _context(kb, tmp_path, PERSON_CAMERA, "raspberry-pi-pico-w", est__ram_kb=256.0)
    assert ctx["req"]["connectivity"] == ["wifi"]
    assert "radio-stack-ram" in _fired(kb, ctx)


@pytest.mark.parametrize("source, board", [
    (PERSON_CAMERA, "raspberry-pi-pico-w"),       # reference VWW: ~110 KB left for Wi-Fi
    (KWS_BATTERY, "nrf52840-dk"),                # KWS with BLE: ~235 KB left
    ("vibration-anomaly.yaml", "esp32-c3-devkitm-1"),
])
def test_radio_stack_ram_is_quiet_with_room_for_the_stack(kb, tmp_path, source, board):
    ctx = _context(kb, tmp_path, source, board)
    assert "radio-stack-ram" not in _fired(kb, ctx)


def test_radio_stack_ram_is_quiet_without_a_radio(kb, tmp_path):
    q = {**IC, "connectivity": []}
    ctx = _context(kb, tmp_path, q, "arduino-nicla-sense-me", est__ram_kb=62.0)
    assert "radio-stack-ram" not in _fired(kb, ctx)


# all new pitfalls: cases on both sides, sources are external documents --------------------------

NEW = ["optimized-kernels-not-enabled", "camera-uint8-into-int8-model", "audio-front-end-not-in-estimate",
       "accuracy-target-above-reference", "radio-stack-ram"]


@pytest.mark.parametrize("pid", NEW)
def test_new_pitfalls_are_sourced_and_cased(kb, pid):
    pitfall = kb.pitfalls[pid]
    assert pitfall.sources and len(pitfall.cases.fires) >= 1 and len(pitfall.cases.quiet) >= 2
    for s in pitfall.sources:
        assert s.kind != "seed" and not s.ref.startswith("shared/"), (pid, s.ref)


# 6. tflm-port-lags-upstream, arena-in-external-ram, no-fpu-float-math (issue 11, risks that fire) --------

IMAGENET = {"project": "Shelf product classifier", "task": "image-classification",
            "input": {"kind": "image", "shape": [224, 224, 3]}, "num_classes": 1000, "data": "labelled"}


@pytest.mark.parametrize("board", ["esp32-s3-eye", "esp32-p4-function-ev-board"])
def test_tflm_port_fires_for_tflm_on_esp_idf_boards(kb, tmp_path, board):
    ctx = _context(kb, tmp_path, PERSON_CAMERA, board)
    assert "tflm-port-lags-upstream" in _fired(kb, ctx)


@pytest.mark.parametrize("board, fw", [("nucleo-l4r5zi", "tflite-micro"), ("esp32-s3-eye", "esp-dl"),
                                       ("arduino-nano-33-ble-sense", "tflite-micro")])
def test_tflm_port_is_quiet_for_upstream_builds_and_other_frameworks(kb, tmp_path, board, fw):
    ctx = _context(kb, tmp_path, KWS, board, fw)
    assert "tflm-port-lags-upstream" not in _fired(kb, ctx)


def test_arena_in_psram_fires_for_a_large_model_and_stays_quiet_for_a_small_one(kb, tmp_path):
    big = _context(kb, tmp_path, IMAGENET, "esp32-s3-eye")
    assert big["est"]["uses_ext_ram"] and "arena-in-external-ram" in _fired(kb, big)
    small = _context(kb, tmp_path, PERSON_CAMERA, "esp32-s3-eye")
    assert not small["est"]["uses_ext_ram"] and "arena-in-external-ram" not in _fired(kb, small)


def test_soft_float_fires_for_float_on_a_core_without_fpu_only(kb, tmp_path):
    ctx = _context(kb, tmp_path, KWS, "raspberry-pi-pico", recipe="float32")
    assert ctx["board"]["fpu"] == "none" and "no-fpu-float-math" in _fired(kb, ctx)
    assert "no-fpu-float-math" not in _fired(kb, _context(kb, tmp_path, KWS, "raspberry-pi-pico"))
    assert "no-fpu-float-math" not in _fired(kb, _context(kb, tmp_path, KWS, "nucleo-l4r5zi", recipe="float32"))


# 7. preferred-framework-not-on-board, external-sensor-driver (acceptance cases: XIAO + Edge Impulse, TinyML kit) ---

def test_preferred_framework_fires_where_the_team_toolchain_is_not_known_on_the_board(kb, tmp_path):
    kws = dict(KWS, framework={"id": "edge-impulse-eon"})
    board = next(b.id for b in sorted(kb.boards.values(), key=lambda b: b.id)
                 if "microphone" in b.sensors and "edge-impulse-eon" not in b.frameworks
                 and "tflite-micro" in b.frameworks and b.class_ == "mcu")
    assert "preferred-framework-not-on-board" in _fired(kb, _context(kb, tmp_path, kws, board))
    ok = next(b.id for b in sorted(kb.boards.values(), key=lambda b: b.id) if "edge-impulse-eon" in b.frameworks)
    assert "preferred-framework-not-on-board" not in _fired(kb, _context(kb, tmp_path, kws, ok))
    assert "preferred-framework-not-on-board" not in _fired(kb, _context(kb, tmp_path, KWS, board))


def test_external_sensor_driver_fires_for_an_add_on_sensor_only(kb, tmp_path):
    vww = {"project": "Door camera on a shield", "task": "visual-wake-words", "external_sensors": ["camera"],
           "data": "labelled"}
    ctx = _context(kb, tmp_path, vww, "arduino-nano-33-ble-sense")
    assert "external-sensor-driver" in _fired(kb, ctx)
    assert "camera-uint8-into-int8-model" in _fired(kb, ctx)  # the camera still counts for the camera risks
    assert "external-sensor-driver" not in _fired(kb, _context(kb, tmp_path, PERSON_CAMERA, "esp32-s3-eye"))
