"""The model basis follows the project (task, input shape, class count, budgets, its own model file), and
memory budgets cap the board's memory instead of replacing it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from advisor.kb.load import load_kb
from advisor.perf import ext_ram_counted
from advisor.problems import ProblemError
from advisor.profile.basis import basis_for
from advisor.questionnaire.requirements import from_mapping, load_requirements
from advisor.solve.estimate import memory_avail, ram_avail_basis
from advisor.solve.solver import solve

from conftest import ROOT

KB = load_kb()


def _req(**fields):
    data = {"project": "t", "task": "keyword-spotting", "language": "cpp", "os": "baremetal"} | fields
    return from_mapping(data, KB, "t.yaml")


def _stack(sol, board, recipe):
    return [c for c in sol.candidates if c.board == board and c.recipe == recipe]


def test_a_budget_caps_the_board_memory_never_raises_it():
    """A float32 VWW stack needs about 611 KB RAM: a 1 MB budget must not make it fit a 256 KB board."""
    req = _req(task="visual-wake-words", os="rtos", memory={"ram_kb": 1024, "flash_kb": 4096})
    sol = solve(req, KB, basis_for(req, KB))
    board = KB.boards["nrf52840-dk"]
    assert board.sram_kb == 256 and board.ext_ram_kb == 0
    assert not _stack(sol, "nrf52840-dk", "float32")
    ints = _stack(sol, "nrf52840-dk", "int8-ptq")
    assert ints and all(c.est["ram_avail_kb"] == 256 for c in ints)
    # and a budget below the board's memory still caps it
    small = _req(task="visual-wake-words", memory={"ram_kb": 100})
    assert all(c.est["ram_avail_kb"] <= 100 for c in solve(small, KB, basis_for(small, KB)).candidates)


def test_external_ram_counts_only_where_the_framework_can_hold_its_arena_there():
    """The STM32F746G-DISCO has 320 KB SRAM and 8 MB SDRAM: TFLM's arena (a buffer the application places) may
    go to the SDRAM, TinyEngine's is not known to, so its stacks get the internal SRAM only, and say why."""
    board = KB.boards["stm32f746g-disco"]
    tflm, tiny = KB.frameworks["tflite-micro"], KB.frameworks["tinyengine"]
    assert board.sram_kb == 320 and board.ext_ram_kb == 8192 and tiny.runtime.arena_external_ram is None
    req = _req(task="visual-wake-words", os="rtos")
    assert ext_ram_counted(board, tflm) and not ext_ram_counted(board, tiny)
    assert memory_avail(board, req, tflm)[0] == 320 + 8192 and memory_avail(board, req, tiny)[0] == 320
    assert "is not counted: tinyengine is not known to place its arena there" in ram_avail_basis(board, req, tiny, 320)
    # an application processor's DRAM is its main memory whatever the framework
    pi = KB.boards["raspberry-pi-4-model-b"]
    assert ext_ram_counted(pi, KB.frameworks["tensorflow-lite"])
    # the float32 VWW stack (about 611 KB) runs from the SDRAM with TFLM, and its latency says it assumes SRAM speed
    sol = solve(req, KB, basis_for(req, KB))
    fl = [c for c in _stack(sol, "stm32f746g-disco", "float32") if c.framework == "tflite-micro"]
    assert fl and all(c.est["uses_ext_ram"] and "arena in external RAM" in c.latency_basis for c in fl)
    ints = [c for c in _stack(sol, "stm32f746g-disco", "int8-ptq") if c.framework == "tflite-micro"]
    assert ints and not any(c.est["uses_ext_ram"] or "external RAM" in c.latency_basis for c in ints)


def test_the_reference_model_is_chosen_to_fit_the_budget():
    """A 20 KB RAM keyword spotter stands on the 10 KB-arena micro_speech model, not the 21 KB DS-CNN."""
    tight = _req(memory={"ram_kb": 20})
    basis = basis_for(tight, KB)
    assert basis.name == "tflm-micro-speech" and "within the RAM/flash budget" in basis.note
    assert solve(tight, KB, basis).candidates
    # equally near inputs: the smallest model that reaches the accuracy target
    assert basis_for(_req(input={"kind": "audio", "shape": [49, 10, 1]}), KB).name == "ds-cnn-kws"
    strict = basis_for(_req(input={"kind": "audio", "shape": [49, 10, 1]}, accuracy={"target_pct": 94.5}), KB)
    assert strict.name == "ds-cnn-l-kws" and "94.5 % target" in strict.note


def test_the_input_shape_scales_a_globally_pooled_reference():
    req = _req(task="image-classification", input={"kind": "image", "shape": [8, 8, 1]}, num_classes=10)
    basis = basis_for(req, KB)
    ref = KB.reference_models["resnet-8-ic"]
    assert basis.macs == pytest.approx(ref.macs / 16)
    assert basis.int8_arena_bytes == pytest.approx(ref.int8_arena_bytes / 16)
    assert basis.int8_bytes == ref.int8_tflite_bytes and "scaled by 0.0625" in basis.note
    more = basis_for(_req(task="image-classification", num_classes=100), KB)
    assert more.macs == ref.macs + 90 * 64 and "100 classes" in more.note


def test_a_reference_that_flattens_is_not_scaled_and_says_so():
    req = _req(task="gesture-recognition", input={"kind": "imu", "shape": [64, 3, 1]},
               model={"reference": "tflm-magic-wand"})
    basis = basis_for(req, KB)
    assert basis.macs == KB.reference_models["tflm-magic-wand"].macs and "not scaled" in basis.note


def test_task_other_needs_an_input_shape_or_a_model(tmp_path: Path):
    ok = _req(task="other", input={"kind": "audio", "shape": [49, 10, 1]})
    basis = basis_for(ok, KB)
    assert KB.reference_models[basis.name].input_kind == "audio" and "input kind audio" in basis.note
    assert solve(ok, KB, basis).candidates
    with pytest.raises(ProblemError, match="input.shape"):
        _req(task="other")


def test_radio_stack_ram_is_counted_and_unknown_parts_are_named():
    quiet = _req()
    wifi = _req(connectivity=["wifi"])
    a = {c.key: c for c in solve(quiet, KB, basis_for(quiet, KB)).candidates}
    b = {c.key: c for c in solve(wifi, KB, basis_for(wifi, KB)).candidates}
    key = next(k for k in b if k in a and KB.boards[k[0]].class_ == "mcu")
    assert b[key].est["ram_kb"] - a[key].est["ram_kb"] == pytest.approx(16.0)
    assert b[key].est["radio_ram_kb"] == 16.0 and {"os", "stack"} <= set(b[key].est["ram_unknown"])
    lora = _req(connectivity=["lora"])
    sol = solve(lora, KB, basis_for(lora, KB))
    assert all("radio stack (lora)" in c.est["ram_unknown"] for c in sol.candidates
               if KB.boards[c.board].class_ == "mcu")


@pytest.mark.slow
def test_a_keras_model_in_the_questionnaire_is_profiled_once_and_cached(tmp_path: Path):
    """advise converts a .keras file in a child process (never importing TensorFlow itself) and caches it."""
    env = dict(os.environ, TINYML_ADVISOR_CACHE=str(tmp_path / "cache"), TF_USE_LEGACY_KERAS="1")
    model = tmp_path / "m.keras"
    subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[2]);"
                    "from advisor.run.families import build; build('digits-cnn', (8, 8, 1), 10).save(sys.argv[1])",
                    str(model), str(ROOT)], check=True, env=env)
    q = tmp_path / "q.yaml"
    q.write_text(yaml.safe_dump({"project": "t", "task": "image-classification", "model": {"file": "m.keras"},
                                 "language": "cpp", "os": "baremetal"}))
    probe = ("import sys, json; sys.path.insert(0, sys.argv[2]);"
             "from advisor.kb.load import load_kb; from advisor.questionnaire.requirements import load_requirements;"
             "from advisor.profile.basis import basis_for; kb = load_kb(); b = basis_for(load_requirements(sys.argv[1], kb), kb);"
             "print(json.dumps([b.source, b.macs, 'tensorflow' in sys.modules]))")
    first = subprocess.run([sys.executable, "-c", probe, str(q), str(ROOT)], env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    source, macs, tf_loaded = yaml.safe_load(first.stdout.strip().splitlines()[-1])
    assert source == "profile" and macs > 0 and not tf_loaded
    assert len(list((tmp_path / "cache" / "models").glob("*.tflite"))) == 1
    no_child = "import subprocess; subprocess.run = None;" + probe  # the cached file is read: no child, same figures
    second = subprocess.run([sys.executable, "-c", no_child, str(q), str(ROOT)], env=env, capture_output=True,
                            text=True)
    assert second.returncode == 0, second.stderr
    assert yaml.safe_load(second.stdout.strip().splitlines()[-1])[1] == macs


def test_power_counts_always_on_sensors_and_names_what_is_unknown():
    from advisor.kb.entities import Peripheral, Power
    from advisor.solve.estimate import power_parts

    base = KB.boards["nrf52840-dk"]
    power = Power(active_mw=24.0, sleep_mw=0.01, conditions="test",
                  peripherals=(Peripheral(kind="microphone", active_mw=1.5, conditions="test"),))
    board = base.model_copy(update={"power": power})
    kws = _req(sensors=["microphone"], power={"battery_mah": 220, "budget_mw": 1.0})
    got = power_parts(board, kws, 24.0, 0.01)
    assert got["parts"]["sensing"] == 1.5 and got["unknown"] == []
    assert got["parts"]["inference"] == pytest.approx(0.24) and got["parts"]["sleep"] == pytest.approx(0.0099)
    # the microphone alone is over a 1 mW budget: the constraint rejects what the front end cannot meet
    assert sum(got["parts"].values()) > 1.0
    radio = power_parts(board, _req(sensors=["microphone"], connectivity=["ble"]), 24.0, 0.01)
    assert radio["parts"]["radio"] is None and "ble radio (duty cycle not asked)" in radio["unknown"]
    bare = power_parts(base.model_copy(update={"power": None}), kws, 0.0, 0.01)
    assert "active power (the board publishes none)" in bare["unknown"] and "microphone draw" in bare["unknown"]


def test_unknown_power_never_passes_silently():
    """With a battery and a budget, every stack either has its power checked or names what is unknown."""
    from advisor.solve.explain import pitfalls_of

    req = _req(sensors=["microphone"], power={"battery_mah": 220, "budget_mw": 5.0, "lifetime_days": 30})
    sol = solve(req, KB, basis_for(req, KB))
    assert sol.candidates
    for c in sol.candidates[:40]:
        fired = {p.id for p in pitfalls_of(sol, KB, c.key)}
        if c.est["energy_unknown"]:
            assert "power-figures-unpublished" in fired, c.key
        else:
            assert c.est["avg_power_mw"] <= 5.0 and c.est["battery_days"] >= 30


def test_the_framework_release_the_team_names_picks_its_throughput_figures():
    """X-CUBE-AI 9.1+ has its own (faster, ST model-zoo) figures on Cortex-M7; without a release, the slowest."""
    def latency(**framework):
        req = _req(task="image-classification", framework={"id": "st-edge-ai", "mode": "force"} | framework)
        sol = solve(req, KB, basis_for(req, KB))
        return next(c for c in sol.candidates if c.board == "nucleo-h7a3zi-q" and c.recipe == "int8-ptq")

    old, new = latency(), latency(version="9.1.0")
    assert new.est["latency_ms"] < old.est["latency_ms"]
    assert "9" in new.est["latency_basis"] and new.est["latency_basis"] != old.est["latency_basis"]


def test_a_code_generator_is_charged_the_activations_an_interpreter_its_whole_arena():
    """emlearn (generated C, static buffers) needs the hello_world net's 32 B of activations (float32: 128 B);
    TFLM on the same board carries its own bookkeeping, the whole arena; on the 2 KB Uno only the first fits."""
    req = from_mapping({"project": "t", "task": "regression", "input": {"kind": "tabular", "shape": [1]},
                        "language": "c", "os": "baremetal"}, KB, "t.yaml")
    basis = basis_for(req, KB)
    assert basis.name == "tflm-hello-world" and basis.activation_bytes == 32
    sol = solve(req, KB, basis)
    uno = [c for c in sol.candidates if c.board == "arduino-uno-r3"]
    assert uno and {c.framework for c in uno} == {"emlearn"}
    assert uno[0].est["arena_kb"] == pytest.approx(32 * 4 / 1024)
    tflm = [c for c in sol.candidates if c.board == "nucleo-l4r5zi" and c.framework == "tflite-micro"
            and c.recipe == "float32"]
    assert tflm and tflm[0].est["arena_kb"] == pytest.approx(KB.reference_models["tflm-hello-world"].int8_arena_bytes
                                                               * 4 / 1024)


def test_a_host_loaded_npu_holds_the_model_in_its_own_memory():
    """The NDP9120 stores no model (flash 0): a host loads it into the Syntiant core's 1024 KB, which bounds it;
    a flash budget still caps that."""
    req = _req(task="keyword-spotting")
    sol = solve(req, KB, basis_for(req, KB))
    ndp = [c for c in sol.candidates if c.board == "syntiant-ndp9120"]
    assert ndp and all(c.est["flash_avail_kb"] == 1024 for c in ndp)
    assert ndp[0].est["flash_kb"] == pytest.approx(ndp[0].est["model_flash_kb"])
    tight = _req(task="keyword-spotting", memory={"flash_kb": 4})
    assert not [c for c in solve(tight, KB, basis_for(tight, KB)).candidates if c.board == "syntiant-ndp9120"]
