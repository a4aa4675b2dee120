"""The search's study logic without TensorFlow: space <-> recipes, the front, dead-worker recovery, storages."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna")

from optuna.trial import TrialState, create_trial  # noqa: E402
from optuna.distributions import FloatDistribution  # noqa: E402

from advisor.kb.load import load_kb  # noqa: E402
from advisor.kb.steps import default_registry  # noqa: E402
from advisor.problems import ProblemError  # noqa: E402
from advisor.search import study as st  # noqa: E402
from advisor.search.space import defaults, is_default_arch, step_ranges, suggest, variant  # noqa: E402

KB = load_kb()


@pytest.mark.parametrize("recipe", sorted(KB.recipes))
def test_the_shipped_values_are_the_first_trial_and_rebuild_the_recipe(recipe):
    """Queued defaults reproduce each recipe exactly, and every value lies inside its search range."""
    r = KB.recipes[recipe]
    params = defaults(r, "digits-cnn", KB)
    fixed = optuna.trial.FixedTrial(params)
    rid, overrides, arch = suggest(fixed, [recipe], "digits-cnn", KB)
    assert rid == recipe and is_default_arch(arch, "digits-cnn")
    registry = default_registry()
    same = variant(r, overrides)
    assert [registry.get(s.uses).resolve(s.with_)[0] for s in same.steps] == \
        [registry.get(s.uses).resolve(s.with_)[0] for s in r.steps]
    for step_id, name, rng, _kind in step_ranges(r, KB):
        value = params[f"{step_id}.{name}"]
        assert value in rng.choices if rng.choices is not None else rng.low <= value <= rng.high, (step_id, name)


def test_a_variant_changes_only_what_the_trial_chose():
    r = KB.recipes["prune-cluster-qat-int8"]
    v = variant(r, {"prune": {"target_sparsity": 0.85}})
    assert next(s for s in v.steps if s.id == "prune").with_["target_sparsity"] == 0.85
    assert next(s for s in v.steps if s.id == "prune").with_["epochs"] == 3
    assert [s.with_ for s in v.steps if s.id != "prune"] == [s.with_ for s in r.steps if s.id != "prune"]


def _trial(number: int, values, constraints=(0, 0, 0), **attrs):
    t = create_trial(values=list(values), params={"x": float(number)},
                     distributions={"x": FloatDistribution(0, 100)},
                     user_attrs={"constraints": list(constraints), **attrs})
    t.number = number
    return t


def test_the_front_keeps_feasible_trained_undominated_points_best_accuracy_first():
    trials = [_trial(0, (98.0, 60_000, 15.0)), _trial(1, (97.0, 20_000, 2.0)), _trial(2, (96.0, 70_000, 20.0)),
              _trial(3, (99.5, 10_000, 1.0), constraints=(1.5, 0, 0)),  # over the RAM budget
              _trial(4, (0.0, 5_000, 0.5), constraints=(0, 0, 0), trained=False),
              _trial(5, (97.0, 20_000, 2.0), duplicate_of=1)]
    assert [t.number for t in st.front(trials)] == [0, 1]
    c = st.counts(trials)
    assert (c.complete, c.feasible, c.infeasible, c.untrained) == (6, 5, 1, 1)


def test_storage_urls_and_redaction(tmp_path: Path):
    assert st.storage_url(None, tmp_path / "s") == f"journal:{tmp_path / 's' / 'journal.log'}"
    assert st.storage_url("sqlite:///x.db", tmp_path) == "sqlite:///x.db"
    assert st.storage_url(str(tmp_path / "j.log"), tmp_path) == f"journal:{tmp_path / 'j.log'}"
    assert st.redact("postgresql://ann:s3cret@db.local/search") == "postgresql://ann:***@db.local/search"
    with pytest.raises(ProblemError, match="unsupported storage 'redis://u:\\*\\*\\*@h'"):
        st.storage_url("redis://u:pw@h", tmp_path)


def test_a_study_made_for_other_inputs_is_refused(tmp_path: Path):
    storage = st.open_storage(f"journal:{tmp_path / 'j.log'}")
    st.create_study(storage, "s", {"model": "aa", "board": "b"})
    st.create_study(storage, "s", {"model": "aa", "board": "b"})  # the same inputs join it
    with pytest.raises(ProblemError, match=r"exists for other inputs \(differs in: model\)"):
        st.create_study(storage, "s", {"model": "bb", "board": "b"})


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_dead_workers_trial_fails_once_and_its_parameters_run_again(tmp_path: Path):
    storage = st.open_storage(f"journal:{tmp_path / 'j.log'}")
    study = st.create_study(storage, "s", {"k": 1})
    trial = study.ask()
    trial.suggest_float("x", 0.0, 1.0)
    trial.set_user_attr("worker", {"pid": _dead_pid(), "host": socket.gethostname(), "boot_id": None,
                                   "start_ticks": None})
    alive = study.ask()
    alive.suggest_float("x", 0.0, 1.0)
    from advisor.run.manifest import process_identity

    alive.set_user_attr("worker", process_identity())
    # two workers find the same dead trial: one retry only
    other = optuna.load_study(study_name="s", storage=st.open_storage(f"journal:{tmp_path / 'j.log'}"))
    assert st.recover_stale(study) == [trial.number]
    assert st.recover_stale(other) == []
    trials = study.get_trials()
    dead = trials[trial.number]
    assert dead.state == TrialState.FAIL and dead.user_attrs["failure"].startswith("its worker died: its process")
    assert trials[alive.number].state == TrialState.RUNNING
    waiting = [t for t in trials if t.state == TrialState.WAITING]
    assert len(waiting) == 1 and waiting[0].user_attrs["retry_of"] == trial.number
    assert waiting[0].system_attrs["fixed_params"] == dead.params
    assert st.counts(trials).trials == 1  # the running one; the dead one is replaced by its retry


def test_another_hosts_worker_is_dead_only_once_its_heartbeat_is_stale(tmp_path: Path):
    storage = st.open_storage(f"journal:{tmp_path / 'j.log'}")
    study = st.create_study(storage, "s", {"k": 1})
    trial = study.ask()
    trial.set_user_attr("worker", {"pid": 1, "host": "elsewhere.example", "boot_id": None, "start_ticks": None})
    trial.set_user_attr("heartbeat", time.time())
    assert st.recover_stale(study) == []
    assert st.recover_stale(study, now=time.time() + st.STALE_SECONDS + 1) == [trial.number]
    assert "no heartbeat from host elsewhere.example" in study.get_trials()[0].user_attrs["failure"]
