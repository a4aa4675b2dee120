"""Meta-tests that keep the shipped knowledge base honest and complete."""

from __future__ import annotations

import pytest

from advisor.kb.base import OWN_KINDS

from advisor.kb.load import load_kb
from advisor.rules.core import apply_overrides, nominal_context


@pytest.fixture(scope="module")
def kb():
    return load_kb()


def test_minimum_counts(kb):
    counts = kb.counts()
    assert counts["board"] >= 90
    assert counts["framework"] >= 14
    assert counts["pitfall"] >= 40
    assert counts["guideline-step"] == 5


def test_every_entry_has_a_source(kb):
    for entity in kb.all():
        if kb.kind_of(entity.id) in OWN_KINDS:  # recipes, search spaces, families are ours: they carry notes
            assert getattr(entity, "notes", "") or kb.kind_of(entity.id) == "recipe", entity.id
            continue
        assert entity.sources, entity.id
        for source in entity.sources:
            assert source.ref.strip(), entity.id


def test_sources_are_external_documents(kb):
    """The team's notes (shared/: seeds, guideline, data tables) are not sources; nor is memory."""
    bad = []
    for entity in kb.all():
        for source in getattr(entity, "sources", ()):
            if source.ref.startswith("shared/") or "/shared/" in source.ref or source.kind == "seed":
                bad.append(f"{entity.id}: {source.kind} {source.ref}")
            if "from memory" in source.note.lower():
                bad.append(f"{entity.id}: a source 'from memory': {source.ref}")
        if "from memory" in (getattr(entity, "notes", "") or "").lower():
            bad.append(f"{entity.id}: notes say a value is from memory")
    assert not bad, "\n".join(bad)


def test_every_board_price_was_read_on_a_store_page(kb):
    """A price is either null (unknown) or carries the page and the date it was read."""
    bad = [b.id for b in kb.boards.values() if b.price_usd is not None and b.price_source is None]
    assert not bad, f"prices without price_source: {bad}"


def test_frameworks_the_seeds_and_users_name_are_present(kb):
    needed = {"tensorflow-lite", "tflite-micro", "ell", "arm-nn", "cmsis-nn", "microtvm", "st-edge-ai",
              "edge-impulse-eon", "esp-dl", "nnom", "emlearn", "onnx-runtime", "executorch", "arm-vela"}
    assert needed <= set(kb.frameworks)


def test_status_facts_that_change_the_advice(kb):
    assert kb.frameworks["ell"].status == "archived"
    assert kb.frameworks["microtvm"].status == "removed"
    assert "keras 3" in (kb.tools["tfmot"].status_note + " " + " ".join(kb.tools["tfmot"].features)).lower()


def test_every_technique_the_seeds_name_is_present(kb):
    needed = {"magnitude-pruning", "full-integer-ptq", "dynamic-range-quantization", "float16-quantization",
              "quantization-aware-training", "weight-clustering", "knowledge-distillation",
              "separable-convolutions", "low-rank-factorization", "sparse-models", "dynamic-quantization",
              "huffman-coding"}
    assert needed <= set(kb.techniques)


def test_every_tool_the_seeds_compare_is_present(kb):
    assert {"autokeras", "autogluon", "optuna", "keras-tuner", "deeplearning4j", "ray-tune", "nasbench",
            "nni"} <= set(kb.tools)


def test_board_coverage_of_core_classes(kb):
    cores = {b.mcu.main_core.core for b in kb.boards.values()}
    for needed in ("avr8", "cortex-m0plus", "cortex-m4f", "cortex-m7", "cortex-m33", "cortex-m55",
                   "xtensa-lx6", "xtensa-lx7", "riscv32", "riscv64"):
        assert needed in cores, needed
    assert any(b.npu and "Ethos-U55" in b.npu.name for b in kb.boards.values())
    assert any(b.class_ == "sbc" for b in kb.boards.values())


def test_board_frameworks_build_for_the_board_core(kb):
    """A board may list a framework only if the framework has a build for one of its cores."""
    wrong = []
    for board in kb.boards.values():
        cores = {c.core for c in board.mcu.cores}
        for fw_id in board.frameworks:
            if not cores & set(kb.frameworks[fw_id].cores):
                wrong.append(f"{board.id} lists {fw_id}, which has no build for {sorted(cores)}")
    assert not wrong, "\n".join(wrong)


def test_every_guideline_problem_has_a_pitfall(kb):
    covered = {(p.step, p.problem) for p in kb.pitfalls.values()}
    for step in kb.guideline.values():
        for problem in step.problems:
            assert (step.id, problem.id) in covered, f"{step.id}/{problem.id} has no pitfall"


def test_every_pitfall_has_firing_and_quiet_cases_that_hold(kb):
    nominal = nominal_context()
    for rule in kb.rules.values():
        assert rule.condition(nominal) is False, rule.pitfall.id
        for case in rule.pitfall.cases.fires:
            assert rule.condition(apply_overrides(nominal, case)) is True, (rule.pitfall.id, case)
        for case in rule.pitfall.cases.quiet:
            assert rule.condition(apply_overrides(nominal, case)) is False, (rule.pitfall.id, case)


def test_tflm_operator_set_claims_core_int8_kernels(kb):
    ops = kb.operator_sets["tflite-micro-ops"]
    int8 = set(ops.names("int8"))
    assert {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "SOFTMAX", "AVERAGE_POOL_2D", "RESHAPE"} <= int8
    assert "TOPK_V2" not in set(ops.names())


def test_throughput_figures_are_the_median_of_their_measurements(kb):
    import statistics
    for t in kb.throughput.values():
        assert (t.kernel == "npu") == bool(t.npu), t.id
        if not t.measurements:  # derived from kernel timings instead (tests/test_perf.py checks the derivation)
            assert t.scaled_by_kernels and t.kernel_timings, t.id
            continue
        median = statistics.median(m.macs_per_cycle for m in t.measurements)
        assert abs(t.macs_per_cycle / median - 1.0) < 0.02, (t.id, t.macs_per_cycle, median)


def test_every_task_but_other_has_a_reference_model(kb):
    from advisor.rules.core import vocabulary
    tasks = set(vocabulary()["req"]["task"].enum) - {"other"}
    covered = {task for m in kb.reference_models.values() for task in m.tasks}
    assert tasks <= covered, tasks - covered


def test_every_reference_model_splits_its_macs_by_operator_class(kb):
    """Latency is summed per class, and an NPU runs the classes its operator table accelerates: a reference
    model without a split would fall back to a CPU whole-model figure on an NPU board."""
    for m in kb.reference_models.values():
        assert m.work is not None, m.id
        w = m.work
        assert abs(w.conv + w.pointwise + w.depthwise + w.fully_connected - m.macs) <= 0.01 * m.macs, m.id


def test_every_reference_model_op_is_a_tflite_builtin(kb):
    known = set(kb.operator_sets["tensorflow-lite-ops"].names()) | set(kb.operator_sets["tflite-micro-ops"].names())
    for m in kb.reference_models.values():
        assert set(m.ops) <= known, (m.id, set(m.ops) - known)


def test_recipes_cover_what_the_recipe_engine_must_ship(kb):
    assert {"int8-ptq", "dynamic-range", "float16", "prune-int8", "cluster-int8", "qat-int8",
            "prune-cluster-qat-int8", "distill-int8"} <= set(kb.recipes)


def test_constraints_are_decided_as_early_as_possible(kb):
    stages = {c.constraint.id: c.stage for c in kb.constraints.values()}
    assert stages["board-has-sensors"] == "board" and stages["framework-language"] == "fw"
    assert stages["framework-on-board"] == "board-fw" and stages["ram-fits"] == "candidate"
