"""The reference models' figures hold together, and the chooser picks among them by its rule.

Checks every shipped reference model (not only the ones named here): an int8 file at least as large as its
int8 weights, a positive arena, operators the tflite-micro operator set runs in int8, a per-class work split
that adds up to the MACs, and spatial scaling only for networks whose notes say the weights do not depend on
the input's size (global pooling, or fully convolutional). The slow test rebuilds two zoo architectures and
checks they still give the derived figures the entries carry.
"""

from __future__ import annotations

import re

import pytest

from advisor.kb.load import load_kb
from advisor.profile.basis import basis_for, choose_reference
from advisor.questionnaire.requirements import TASK_INPUT, from_mapping

KB = load_kb()
REFS = sorted(KB.reference_models.values(), key=lambda r: r.id)
KIB = 1024.0
# Wording in a spatial model's notes or sources that says its weights do not depend on the input's size.
SIZE_FREE = re.compile(r"global (average |max )?pool|pooling over the whole|average pool(ing)? over the whole"
                       r"|fully convolutional", re.IGNORECASE)


def _req(**fields):
    data = {"project": "t", "task": "keyword-spotting", "language": "cpp", "os": "baremetal"} | fields
    return from_mapping(data, KB, "t.yaml")


def _text(ref) -> str:
    return " ".join([ref.notes] + [s.note for s in ref.sources])


@pytest.mark.parametrize("ref", REFS, ids=[r.id for r in REFS])
def test_figures_are_consistent(ref):
    assert ref.int8_arena_bytes > 0 and ref.macs > 0 and ref.int8_tflite_bytes > 0
    if ref.params:
        assert ref.int8_tflite_bytes >= ref.params, "an int8 file holds at least one byte per weight"
    if ref.head_features:
        assert ref.num_classes >= 1, "a classifier head needs classes"
        assert ref.head_features * ref.num_classes <= ref.int8_tflite_bytes
        assert ref.head_features * ref.num_classes <= ref.macs
        if ref.params:
            assert ref.head_features * ref.num_classes <= ref.params
    if ref.work is not None:
        w = ref.work
        split = w.conv + w.pointwise + w.depthwise + w.fully_connected
        assert split == pytest.approx(ref.macs, rel=0.005), "the per-class MACs add up to the model's"
        assert w.operators >= len(ref.ops), "each listed operator kind occurs at least once in the graph"


@pytest.mark.parametrize("ref", REFS, ids=[r.id for r in REFS])
def test_ops_are_tflite_micro_builtins_that_run_int8(ref):
    int8 = set(KB.operator_sets["tflite-micro-ops"].names("int8"))
    assert set(ref.ops) <= int8, set(ref.ops) - int8


@pytest.mark.parametrize("ref", [r for r in REFS if r.input_scaling == "spatial"],
                         ids=[r.id for r in REFS if r.input_scaling == "spatial"])
def test_spatial_scaling_only_for_size_free_weights(ref):
    assert SIZE_FREE.search(_text(ref)), "spatial scaling needs global pooling or a fully convolutional net"
    assert len(ref.input_shape) >= 2, "spatial area needs a map, not a vector"
    pools = {"AVERAGE_POOL_2D", "MEAN", "REDUCE_MAX", "MAX_POOL_2D"}
    assert set(ref.ops) & pools or "fully convolutional" in _text(ref).lower()


def test_every_task_has_a_default_input_kind_and_object_detection_is_one():
    assert "object-detection" in TASK_INPUT and TASK_INPUT["object-detection"] == "image"
    assert any("object-detection" in r.tasks for r in REFS)


# --- the chooser (advisor.profile.basis.choose_reference): nearest input among those that fit, ties by id ------

def test_a_small_kws_budget_stands_on_ds_cnn_s():
    """32 KB RAM / 64 KB flash: DS-CNN-S fits (both copies: MLPerf's and ARM's), M and L do not."""
    req = _req(input={"kind": "audio", "shape": [49, 10, 1]}, num_classes=12, memory={"ram_kb": 32, "flash_kb": 64})
    ref, why = choose_reference(req, KB)
    small = {"ds-cnn-kws", "ds-cnn-s-kws"}
    assert ref.id in small and "within the RAM/flash budget" in why
    assert KB.reference_models["ds-cnn-kws"].macs == pytest.approx(KB.reference_models["ds-cnn-s-kws"].macs,
                                                                   rel=0.001)  # one layer table
    for big in ("ds-cnn-m-kws", "ds-cnn-l-kws"):
        assert KB.reference_models[big].int8_arena_bytes / KIB > 32


def test_a_big_kws_budget_does_not_pick_ds_cnn_l_by_the_rule():
    """With room for all three, S, M and L have the same input, so the tie goes to the first id: the rule
    chooses by input and budget only, never by size or accuracy. DS-CNN-L is used when the questionnaire
    names it."""
    req = _req(input={"kind": "audio", "shape": [49, 10, 1]}, num_classes=12,
               memory={"ram_kb": 512, "flash_kb": 1024})
    ref, _ = choose_reference(req, KB)
    assert ref.id == "ds-cnn-kws"
    named = basis_for(_req(model={"reference": "ds-cnn-l-kws"}, memory={"ram_kb": 512, "flash_kb": 1024}), KB)
    assert named.name == "ds-cnn-l-kws" and named.macs == KB.reference_models["ds-cnn-l-kws"].macs


def test_a_budget_between_s_and_m_keeps_s_and_one_above_m_still_ties_to_s():
    mid = _req(input={"kind": "audio", "shape": [49, 10, 1]}, memory={"ram_kb": 80, "flash_kb": 256})
    m = KB.reference_models["ds-cnn-m-kws"]
    assert m.int8_arena_bytes / KIB <= 80 and m.int8_tflite_bytes / KIB <= 256  # M fits too ...
    assert choose_reference(mid, KB)[0].id == "ds-cnn-kws"  # ... and the tie still goes to the first id


def test_an_imu_window_stands_on_the_1d_cnn_scaled_to_its_length():
    req = _req(task="gesture-recognition", input={"kind": "imu", "shape": [48, 3, 1]}, num_classes=4)
    basis = basis_for(req, KB)
    ref = KB.reference_models["st-gmp-har"]
    assert basis.name == "st-gmp-har"
    assert basis.macs == pytest.approx(ref.macs * 2) and basis.int8_arena_bytes == pytest.approx(ref.int8_arena_bytes * 2)
    assert basis.int8_bytes == ref.int8_tflite_bytes


def test_a_detection_project_stands_on_the_detector_scaled_to_its_image():
    req = _req(task="object-detection", input={"kind": "image", "shape": [96, 96, 3]}, num_classes=3)
    basis = basis_for(req, KB)
    ref = KB.reference_models["st-yolo-lc-v1-192-od"]
    assert basis.name == ref.id and "scaled by 0.25" in basis.note
    assert basis.macs == pytest.approx(ref.macs / 4)  # no head_features: the class count does not resize it
    assert basis.int8_bytes == ref.int8_tflite_bytes


def test_an_imagenet_reference_is_resized_to_the_project_classes():
    req = _req(task="image-classification", input={"kind": "image", "shape": [128, 128, 3]}, num_classes=10)
    basis = basis_for(req, KB)
    ref = KB.reference_models["slim-mobilenet-v1-025-128-ic"]
    assert basis.name == ref.id
    assert basis.int8_bytes == pytest.approx(ref.int8_tflite_bytes - 991 * (256 + 4))


@pytest.mark.slow
def test_zoo_builders_still_give_the_derived_figures(tmp_path):
    """The entries' derived figures follow from the zoo builders (TensorFlow: about 20 s)."""
    from advisor.profile import zoo
    from advisor.profile.model import load_model

    for name in ("ds-cnn-s-kws", "st-gmp-har"):
        ref = KB.reference_models[name]
        path = tmp_path / f"{name}.tflite"
        path.write_bytes(zoo.to_int8(zoo.build(name)))
        profile = load_model(path)
        assert profile.macs == ref.macs, name
        assert profile.file_bytes == pytest.approx(ref.int8_tflite_bytes, rel=0.05), name  # published file
        assert profile.plan.arena_bytes == pytest.approx(ref.int8_arena_bytes, rel=0.02), name
        assert ref.work is not None and len(profile.rows) == ref.work.operators
