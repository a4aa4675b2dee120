"""advisor.perf: per-operator-class latency, fallbacks that err slow, soft float, and the NPU split."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from advisor import perf
from advisor.kb.entities import Throughput
from advisor.kb.load import load_kb
from advisor.profile.model import load_model

MODELS = Path(__file__).parent / "fixtures" / "models"


@pytest.fixture(scope="module")
def kb():
    return load_kb()


def test_classes_of_a_profiled_model_match_its_reference_split(kb):
    """The DS-CNN fixture splits into the classes the reference model stores (1x1 found from the shapes)."""
    mix = perf.mix_from_profile(load_model(MODELS / "ds-cnn-kws.tflite"))
    work = kb.reference_models["ds-cnn-kws"].work
    assert mix.macs > 0 and mix.pointwise > mix.conv > 0 and mix.depthwise > 0
    for cls in ("conv", "pointwise", "depthwise", "fully_connected"):
        assert getattr(mix, cls) == pytest.approx(getattr(work, cls), rel=0.05), cls


def test_latency_is_the_sum_over_classes_at_their_rates(kb):
    board, fw = kb.boards["nucleo-l4r5zi"], kb.frameworks["st-edge-ai"]
    rate = perf.resolve("cortex-m4f", "vendor", None, kb, "st-edge-ai")
    rates = perf.class_rates(rate)
    assert rates["conv"] > rates["pointwise"]  # 3x3 convolution runs faster per MAC than 1x1
    mix = perf.OpMix(conv=1e6, pointwise=2e6, fully_connected=5e4, elementwise=1e4, operators=7)
    ms, basis = perf.model_latency_ms(mix, board, fw, None, kb)
    clock = board.mcu.main_core.clock_mhz * 1e6
    expected = (1e6 / rates["conv"] + 2e6 / rates["pointwise"] + 5e4 / rates["fully_connected"]
                + 1e4 / rates["elementwise"]) / clock * 1e3
    assert ms == pytest.approx(expected) and basis.startswith(rate.entry.id)
    conv_only, _ = perf.model_latency_ms(perf.OpMix(conv=3e6), board, fw, None, kb)
    pointwise_only, _ = perf.model_latency_ms(perf.OpMix(pointwise=3e6), board, fw, None, kb)
    assert conv_only < pointwise_only  # same MACs, different classes: different latency


def test_reference_basis_uses_the_stored_split_scaled_to_its_macs(kb):
    from advisor.profile.basis import ModelBasis

    ref = kb.reference_models["resnet-8-ic"]
    basis = ModelBasis("reference", ref.id, ref.ops, 0.0, ref.macs * 2.0, 1.0, 1.0)
    mix = perf.mix_of(basis, kb)
    assert mix.macs == pytest.approx(ref.macs * 2.0) and mix.conv > 0.9 * mix.macs


def test_each_compiler_gets_its_own_figure_not_another_vendors(kb):
    tvm = perf.resolve("cortex-m4f", "vendor", None, kb, "microtvm")
    assert tvm.entry.framework == "microtvm"
    other = perf.resolve("cortex-m4f", "vendor", None, kb, "some-new-compiler")
    assert other.entry.framework != "st-edge-ai" and other.entry.kernel != "vendor"  # a safer kernel library
    optimizing = [t.macs_per_cycle for t in kb.throughput.values() if t.kernel == "vendor" and "cortex-m4f" in t.cores
                  and t.framework in ("st-edge-ai", "plumerai-inference-engine")]
    assert optimizing and other.macs_per_cycle < min(optimizing) and "no figure for" in other.basis


def test_fallbacks_err_slow(kb):
    # a newer framework version without its own figure takes the older (slower) one, and says so
    newer = perf.resolve("cortex-m4f", "vendor", None, kb, "st-edge-ai", version="9.0.0")
    assert newer.entry.framework_versions.min == "7.3" and "older, slower" in newer.basis
    older = perf.resolve("cortex-m7", "vendor", None, kb, "st-edge-ai", version="8.1.0")
    later = perf.resolve("cortex-m7", "vendor", None, kb, "st-edge-ai", version="10.2")
    assert later.entry.framework_versions.min == "9.1" and later.macs_per_cycle > older.macs_per_cycle
    unknown = perf.resolve("cortex-m7", "vendor", None, kb, "st-edge-ai")  # version not known: the slowest
    assert unknown.entry is older.entry
    # a core without SIMD never borrows a SIMD core's optimized-library figure: the Cortex-M3 and the
    # Cortex-M0 take the M0+'s plain-C CMSIS-NN figure, below both of the M4's (reference and CMSIS-NN)
    m3 = perf.resolve("cortex-m3", "cmsis-nn", None, kb, "tflite-micro")
    assert m3.entry.id == "cortex-m0plus-cmsis-nn" and "no figure for cortex-m3" in m3.basis
    assert "errs slightly slow" in m3.basis
    optimized = perf.resolve("cortex-m4", "cmsis-nn", None, kb, "tflite-micro")
    assert m3.macs_per_cycle < perf.resolve("cortex-m4", "reference", None, kb, "tflite-micro").macs_per_cycle
    assert m3.macs_per_cycle < optimized.macs_per_cycle
    m0 = perf.resolve("cortex-m0", "cmsis-nn", None, kb, "tflite-micro")
    assert m0.entry.id == "cortex-m0plus-cmsis-nn" and "no figure for cortex-m0 " in m0.basis
    # reference kernels on the M0+ take its own plain-C library figure, not the faster Cortex-M4's, and say so
    ref = perf.resolve("cortex-m0plus", "reference", None, kb, "tflite-micro")
    assert ref.entry.id == "cortex-m0plus-cmsis-nn" and "reference kernels run slower" in ref.basis
    assert ref.macs_per_cycle < perf.resolve("cortex-m4", "reference", None, kb, "tflite-micro").macs_per_cycle
    assert perf.resolve("cortex-m0", "reference", None, kb, "tflite-micro").entry.id == "cortex-m0plus-cmsis-nn"
    # an 8-bit AVR has no figure: the slowest 32-bit core's, with the caveat that it is still optimistic
    avr = perf.resolve("avr8", "reference", None, kb, "emlearn")
    assert avr.entry.id == "cortex-m0plus-cmsis-nn" and "8-bit core" in avr.basis
    # the Cortex-M85 has no figure: it takes the M55's Helium figure and says so; a Helium core falling back
    # to a scalar core's figure (a kernel family the M55 has no figure for) says that errs slow
    m85 = perf.resolve("cortex-m85", "cmsis-nn", None, kb, "tflite-micro")
    assert m85.entry.id == "cortex-m55-cmsis-nn" and "no figure for cortex-m85" in m85.basis
    assert "no Helium vector unit" not in m85.basis
    vendor = perf.resolve("cortex-m55", "vendor", None, kb, "st-edge-ai")
    assert "cortex-m55" not in vendor.entry.cores and "no Helium vector unit" in vendor.basis


def test_kernel_scaled_class_rates_follow_their_kernel_timings(kb):
    """An entry derived from kernel timings (the Cortex-M55's Helium figure) has, per class, the base entry's
    rate x the measured speed-up between the two build paths, capped at the kernel's own rate alone (both
    divided by the upstream factor), and a whole-model figure at the smallest MAC-class factor: it errs slow."""
    derived = [t for t in kb.throughput.values() if t.scaled_by_kernels]
    assert "cortex-m55-cmsis-nn" in {t.id for t in derived}
    for t in derived:
        rule = t.scaled_by_kernels
        base = kb.throughput[rule.entry]
        factors = {}
        for cls in perf.CLASSES:
            timed = {k.path: k for k in t.kernel_timings if k.class_ == cls}
            if rule.from_path not in timed or rule.to_path not in timed:
                continue
            up = getattr(rule.upstream_factors, cls) if rule.upstream_factors else None
            up = up or 1.0
            speed_up = timed[rule.from_path].cycles / timed[rule.to_path].cycles / up
            expected = min(getattr(base.class_rates, cls) * speed_up, timed[rule.to_path].macs_per_cycle / up)
            assert getattr(t.class_rates, cls) == pytest.approx(expected, rel=0.01), (t.id, cls)
            factors[cls] = getattr(t.class_rates, cls) / getattr(base.class_rates, cls)
        assert {"conv", "pointwise", "depthwise", "fully_connected"} <= set(factors), t.id
        assert t.macs_per_cycle == pytest.approx(
            base.macs_per_cycle * min(v for c, v in factors.items() if c != "elementwise"), rel=0.01)


# a version pair dominated by one of these classes bounds the factor of all of them (the benchmark and
# model-zoo models carry 1x1, depthwise and element-wise work together, so their rates are fitted as one)
FACTOR_GROUP = {"conv": ("conv",), "fully_connected": ("fully_connected",),
                "pointwise": ("pointwise", "depthwise", "elementwise")}


def test_scaled_entries_are_their_base_times_factors_that_err_slow(kb):
    scaled = [t for t in kb.throughput.values() if t.scaled_from is not None]
    assert {"cortex-m7-x-cube-ai-9", "cortex-m33-x-cube-ai-9"} <= {t.id for t in scaled}
    for t in scaled:
        base = kb.throughput[t.scaled_from.entry]
        assert (base.cores, base.kernel, base.framework) == (t.cores, t.kernel, t.framework), t.id
        assert perf._version(base.framework_versions.min) < perf._version(t.framework_versions.min), t.id
        factors, rates, base_rates = (x.model_dump() for x in (t.scaled_from.factors, t.class_rates,
                                                                base.class_rates))
        for cls in perf.CLASSES:
            assert rates[cls] == pytest.approx(base_rates[cls] * factors[cls], rel=0.01), (t.id, cls)
            group = next(g for g in FACTOR_GROUP.values() if cls in g)
            gains = [p.speedup for p in t.scaled_from.pairs if p.dominant in group]
            # never more than the smallest published gain of that class (none published: no gain at all)
            assert factors[cls] <= min(gains, default=1.0) + 1e-3, (t.id, cls, factors[cls], gains)
        for p in t.scaled_from.pairs:
            assert p.before.version.startswith(base.framework_versions.min) and p.after.latency_ms < p.before.latency_ms
    # the newer figure answers for its versions, the older one for versions before it and for an unknown one
    m33 = kb.boards["nucleo-u575zi-q"]
    fw = kb.frameworks["st-edge-ai"]
    vww = perf.mix_of(perf.OpMix(conv=5e5, pointwise=6.2e6, depthwise=8e5), kb)
    new, basis = perf.model_latency_ms(vww, m33, fw, None, kb, version="10.2")
    old, _ = perf.model_latency_ms(vww, m33, fw, None, kb, version="9.0")
    unknown, _ = perf.model_latency_ms(vww, m33, fw, None, kb)
    assert basis.startswith("cortex-m33-x-cube-ai-9") and new < old == unknown
    # ST Edge AI Core numbers (2.0 ships with X-CUBE-AI 10.0) answer like X-CUBE-AI 10; Core 1.x like an unknown one
    core2, _ = perf.model_latency_ms(vww, m33, fw, None, kb, version="2.1")
    core1, _ = perf.model_latency_ms(vww, m33, fw, None, kb, version="1.0")
    assert core2 == new and core1 == unknown

def test_float_on_a_core_without_fpu_is_flagged_and_slower(kb):
    board, fw = kb.boards["nucleo-g0b1re"], kb.frameworks["tflite-micro"]
    assert board.fpu == "none"
    float_recipe = next(r for r in kb.recipes.values() if perf.is_float(r))
    mix = perf.OpMix(conv=1e6, pointwise=1e6)
    int8_ms, _ = perf.model_latency_ms(mix, board, fw, None, kb)
    float_ms, basis = perf.model_latency_ms(mix, board, fw, float_recipe, kb)
    assert float_ms > int8_ms and "without FPU" in basis
    # at least an fmul + fadd library call per MAC (268 cycles, GCC's library on a Cortex-M0), never the
    # hardware-float rate
    clock = board.mcu.main_core.clock_mhz * 1e6
    assert float_ms >= 2e6 * 268 / clock * 1e3 * 0.999 and "cortex-m0-soft-float" in basis
    fpu_board = kb.boards["nucleo-l4r5zi"]
    hw_ms, hw_basis = perf.model_latency_ms(mix, fpu_board, fw, float_recipe, kb)
    assert "soft-float" not in hw_basis and hw_ms < float_ms


def test_a_smaller_npu_gets_a_share_of_the_figure_a_larger_one_keeps_it(kb):
    fw = kb.frameworks["arm-vela"]
    mix = perf.OpMix(conv=4e6, pointwise=4e6, depthwise=1e6)
    small, large = kb.boards["seeed-grove-vision-ai-v2"], kb.boards["alif-ensemble-e7-devkit"]
    assert small.npu.macs_per_cycle == 64 and large.npu.macs_per_cycle == 256
    entry = kb.throughput["ethos-u55-128-vela"]
    rate_small = perf._npu_sized(perf.Rate(entry.macs_per_cycle, entry.id, entry), small)
    rate_large = perf._npu_sized(perf.Rate(entry.macs_per_cycle, entry.id, entry), large)
    assert rate_small.macs_per_cycle == pytest.approx(entry.macs_per_cycle / 2) and "64/128" in rate_small.basis
    assert rate_large.macs_per_cycle == entry.macs_per_cycle
    assert perf.cycles(mix, rate_small) == pytest.approx(2 * perf.cycles(mix, rate_large))


def test_npu_runs_the_operators_its_table_accelerates(kb):
    board, fw = kb.boards["alif-ensemble-e7-devkit"], kb.frameworks["arm-vela"]
    assert perf.kernel_for(board, fw) == "npu"
    mix = perf.OpMix(conv=4e6, pointwise=4e6, depthwise=1e6, fully_connected=1e5, elementwise=5e4, operators=20)
    kb0 = load_kb()  # without the shipped Ethos-U figure: everything on the CPU
    kb0.entities["throughput"] = {k: t for k, t in kb0.throughput.items() if t.npu != "ethos-u"}
    cpu_only, basis = perf.model_latency_ms(mix, board, fw, None, kb0)
    assert "no ethos-u NPU figure" in basis
    shipped, basis = perf.model_latency_ms(mix, board, fw, None, kb)  # the shipped figure takes the NPU operators
    assert basis.startswith("ethos-u55-128-vela for NPU operators") and shipped < cpu_only / 5
    entry = Throughput.model_validate({
        "id": "test-ethos-u", "name": "test", "cores": ["cortex-m55"], "kernel": "npu", "npu": "ethos-u",
        "dtype": "int8", "macs_per_cycle": 50.0, "class_rates": {"conv": 100.0, "pointwise": 50.0},
        "measurements": [{"model": "m", "macs": 1, "board": "b", "clock_mhz": 1, "latency_ms": 1, "source": "src"}],
        "sources": [{"kind": "documentation", "ref": "test", "note": "test"}]})
    kb2 = load_kb()
    kb2.entities["throughput"] = {**kb0.throughput, entry.id: entry}
    on_npu, on_cpu = perf.npu_split(mix, fw, kb2)
    assert on_npu.conv == 4e6 and on_npu.elementwise == 0 and on_cpu.elementwise == 5e4 and on_cpu.conv == 0
    split, basis = perf.model_latency_ms(mix, board, fw, None, kb2)
    assert "test-ethos-u for NPU operators" in basis and split < cpu_only / 5
    cpu_rate = perf.resolve("cortex-m55", "cmsis-nn", None, kb2, "arm-vela")
    clock = board.mcu.main_core.clock_mhz * 1e6
    expected = (perf.cycles(on_npu, perf.resolve("cortex-m55", "npu", "ethos-u", kb2, "arm-vela"))
                + perf.cycles(on_cpu, cpu_rate)) / clock * 1e3
    assert split == pytest.approx(expected)


def test_an_end_to_end_npu_figure_answers_for_the_whole_model(kb):
    """ST Edge AI has no operator table: the Neural-ART figure (timed NPU and MCU together) takes every class."""
    board, fw = kb.boards["stm32n6570-dk"], kb.frameworks["st-edge-ai"]
    assert perf.kernel_for(board, fw) == "npu" and not fw.operators
    mix = perf.OpMix(conv=1e6, pointwise=3e7, depthwise=5e6, fully_connected=2.5e5, elementwise=1e5, operators=30)
    ms, basis = perf.model_latency_ms(mix, board, fw, None, kb)
    npu = perf.resolve("cortex-m55", "npu", "stm32-npu", kb, "st-edge-ai")
    assert basis.startswith("stm32-npu-st-edge-ai for the whole model")
    assert ms == pytest.approx(perf.cycles(mix, npu) / (board.mcu.main_core.clock_mhz * 1e6) * 1e3)
    # the slowest card figure: a model as small as the smallest timed one is not estimated faster than measured
    small = next(m for m in npu.entry.measurements if "0.25" in m.model)
    assert min(perf.class_rates(npu).values()) <= small.macs_per_cycle * 1.01
    cpu_ms, _ = perf.model_latency_ms(mix, board, kb.frameworks["tflite-micro"], None, kb)
    assert ms < cpu_ms / 10


def test_max78000_cnn_runs_ai8x_models_at_the_examples_rate_and_tflm_stays_on_the_cpu(kb):
    """The MAX78000's accelerator figure answers for ai8x-synthesis only, and each timed example is estimated
    within the spread of the examples (TFLM on the same board runs on the Cortex-M4F)."""
    board, fw = kb.boards["max78000fthr"], kb.frameworks["ai8x-synthesis"]
    assert perf.kernel_for(board, fw) == "npu"
    entry = kb.throughput["max78000-cnn-ai8x"]
    for m in entry.measurements:
        ms, basis = perf.model_latency_ms(perf.OpMix(conv=m.macs, operators=10), board, fw, None, kb)
        assert basis.startswith("max78000-cnn-ai8x for the whole model"), basis
        assert 0.6 < ms / m.latency_ms < 1.7, (m.model, ms, m.latency_ms)
    mix = perf.OpMix(conv=1e7, operators=10)
    cpu_ms, basis = perf.model_latency_ms(mix, board, kb.frameworks["tflite-micro"], None, kb)
    assert "max78000" not in basis and cpu_ms > 20 * perf.model_latency_ms(mix, board, fw, None, kb)[0]
    # a model with no per-class split still gets the accelerator's end-to-end figure
    whole = SimpleNamespace(source="profile", name="m", macs=1e7, op_mix=(), other_ops=0.0)
    ms, basis = perf.model_latency_ms(whole, board, fw, None, kb)
    assert basis.startswith("max78000-cnn-ai8x") and ms == pytest.approx(1e7 / (entry.macs_per_cycle * 1e8) * 1e3)


def test_max78002_has_its_own_cnn_figure_and_the_power_while_it_runs(kb):
    """The MAX78002's larger, faster CNN answers with its own figure (the MAX78000's stays on the MAX78000), the
    vendor's keyword spotter is estimated near its measured time, and a stack on the CNN is charged the power
    published while the CNN runs, not the Cortex-M4's run-mode figure."""
    board, fw = kb.boards["max78002-evkit"], kb.frameworks["ai8x-synthesis"]
    kws = next(m for m in kb.throughput["max78002-cnn-ai8x"].measurements if m.model.startswith("kws20_v3_1"))
    ms, basis = perf.model_latency_ms(perf.OpMix(conv=kws.macs, operators=10), board, fw, None, kb)
    assert basis.startswith("max78002-cnn-ai8x") and 0.8 < ms / kws.latency_ms < 1.25
    _, basis78000 = perf.model_latency_ms(perf.OpMix(conv=kws.macs, operators=10), kb.boards["max78000fthr"], fw,
                                          None, kb)
    assert basis78000.startswith("max78000-cnn-ai8x")
    assert perf.active_mw(board, npu=True) == board.power.npu_active_mw > 10 * perf.active_mw(board)
    assert perf.energy_mj(ms, board, npu=True) == pytest.approx(ms * board.power.npu_active_mw / 1e3)
    # a board without an NPU-busy figure keeps its CPU figure for a stack on its NPU
    other = kb.boards["max78000fthr"]
    assert other.power.npu_active_mw is None and perf.active_mw(other, npu=True) == other.power.active_mw


def test_cortex_m0plus_has_its_own_measured_figure_and_names_the_classes_it_lacks(kb):
    """The RP2040 benchmark's person_detect is estimated as measured (at the board's clock); a class the
    benchmark has no operator of takes the slowest measured MAC class, and the basis says so."""
    entry = kb.throughput["cortex-m0plus-cmsis-nn"]
    board, fw = kb.boards["raspberry-pi-pico"], kb.frameworks["tflite-micro"]
    w = kb.reference_models["tflm-person-detection"].work
    mix = perf.OpMix(w.conv, w.pointwise, w.depthwise, w.fully_connected, w.elementwise, w.operators)
    measured = entry.measurements[0]
    ms, basis = perf.model_latency_ms(mix, board, fw, None, kb, clock_mhz=measured.clock_mhz)
    assert basis == "cortex-m0plus-cmsis-nn" and ms == pytest.approx(measured.latency_ms, rel=0.02)
    conv = perf.OpMix(conv=1e6, operators=1)
    ms, basis = perf.model_latency_ms(conv, board, fw, None, kb)
    rates = perf.class_rates(perf.resolve("cortex-m0plus", "cmsis-nn", None, kb, "tflite-micro"))
    assert rates["conv"] == min(entry.class_rates.pointwise, entry.class_rates.depthwise)
    assert "conv: no figure in cortex-m0plus-cmsis-nn" in basis
    # slower per cycle than the Cortex-M4 reference-kernel figure this core used to borrow
    assert entry.macs_per_cycle < kb.throughput["cortex-m4-reference"].macs_per_cycle


def test_old_entry_points_still_answer(kb):
    rate = perf.throughput_for("cortex-m4f", "cmsis-nn", None, kb)
    assert rate.macs_per_cycle > 0 and rate.entry is not None
    assert perf.latency_ms(1e6, rate, 100.0, False, kb) == pytest.approx(1e6 / (rate.macs_per_cycle * 1e8) * 1e3)


def test_profile_and_its_basis_get_the_same_latency(kb):
    """``profile --board`` (a ModelProfile) and ``advise`` (the ModelBasis built from it) share one figure."""
    from advisor.profile.basis import from_profile

    profile = load_model(MODELS / "ds-cnn-kws.tflite")
    board, fw = kb.boards["nucleo-l4r5zi"], kb.frameworks["st-edge-ai"]
    assert perf.model_latency_ms(profile, board, fw, None, kb) == perf.model_latency_ms(from_profile(profile), board,
                                                                                         fw, None, kb)
