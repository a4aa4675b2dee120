"""The latency estimator against MLPerf Tiny v0.5-v1.0 (bench/latency_fit.py; no TensorFlow, a few seconds).

Issue 12's goals are on the leave-one-out figures: each calibration row predicted by the fit redone without it.
The knowledge base's throughput entries whose class ratios are fixed by bench/data/class_ratio_priors.yaml must
carry the rates that fit gives (so a changed prior or row cannot leave a stale figure behind).
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

import pytest

from advisor.kb.load import load_kb

pytest.importorskip("scipy", reason="the fit's non-negative least squares needs scipy (the ml extra)")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import latency_fit as lf  # noqa: E402

CALIBRATION = ROOT / "bench" / "data" / "mlperf_tiny_calibration.csv"
KB = load_kb()
ROWS = lf.calibration_rows(CALIBRATION, KB)
# fit group -> the throughput entry its single stack feeds
PRIOR_ENTRIES = {"tflm-reference": "cortex-m4-reference", "silabs-mvp": "silabs-mvp-npu"}


def test_every_calibration_row_is_used():
    assert len(ROWS) == 52
    assert {r.group for r in ROWS} >= set(PRIOR_ENTRIES)


def test_leave_one_out_meets_the_goals():
    ratios = lf.loo_ratios(ROWS)
    inside = sum(0.8 <= r <= 1.25 for r in ratios) / len(ratios)
    worst = max(max(r, 1 / r) for r in ratios)
    assert 0.9 <= statistics.median(ratios) <= 1.1
    assert inside >= 0.8, f"{inside:.0%} within 0.8-1.25"
    assert worst <= 1.5, f"worst {worst:.2f}x"


def test_priors_are_measured_per_class():
    priors = lf.load_priors()
    ref, _ = priors["tflm-reference"]
    mvp, _ = priors["silabs-mvp"]
    order = lf.CLASS_ORDER
    # plain C loops: a fully connected MAC is cheaper than a convolution MAC, depthwise far dearer
    assert ref[order.index("fully_connected")] < 1.0 < ref[order.index("depthwise")]
    # the accelerator streams each FC weight once: an FC MAC costs more than a convolution MAC there
    assert mvp[order.index("fully_connected")] > 1.5


@pytest.mark.parametrize("group", sorted(PRIOR_ENTRIES))
def test_knowledge_base_rates_match_the_fit(group):
    fits = lf.fit_all(ROWS)
    beta, scale, how = fits[group]
    assert how.startswith("fixed ratios")
    (a,) = scale.values()
    entry = KB.throughput[PRIOR_ENTRIES[group]].class_rates.model_dump()
    for i, cls in enumerate(lf.CLASS_ORDER[:5]):
        assert entry[cls] == pytest.approx(1.0 / (a * beta[i]), rel=0.01), cls
