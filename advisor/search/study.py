"""The Optuna study a search runs on: its storage, sampler, recovery of dead workers, budget and Pareto front.

NOTE: nothing here imports TensorFlow; the command process that starts and watches the workers uses this
module alone. Storage choices:

- default: an Optuna journal file ``runs/<study>/journal.log`` -- no server, safe for several processes on
  one machine (the journal serialises appends under a file lock);
- ``sqlite:///path.db`` and ``postgresql://user@host/db``: Optuna's RDB storage, which many machines can
  share, each running the same ``search`` command with the same ``--study``.

A worker records who runs each trial (pid, host, boot, process start) and refreshes a heartbeat while it
works. A running trial whose worker is gone (same host: the process is dead; another host: no heartbeat
for ``STALE_SECONDS``) is marked failed -- never left running, never silently lost -- and its parameters
are queued again, so a restarted worker continues the study where it stopped.
"""

from __future__ import annotations

import re
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from advisor.problems import Problem, ProblemError

JOURNAL = "journal.log"
HEARTBEAT_SECONDS = 30.0
STALE_SECONDS = 300.0  # another host's worker is taken as dead after 10 missed heartbeats
# Objectives, in Optuna's order: accuracy up (TFLM, on the test set), flash down, latency on the board down.
OBJECTIVES = (("accuracy_pct", "maximize"), ("flash_bytes", "minimize"), ("latency_ms", "minimize"))
CONSTRAINTS = ("ram", "flash", "latency")  # each value <= 0 when met (Optuna's convention)


def storage_url(storage: str | None, study_dir: Path) -> str:
    """The storage's URL: the journal file under the study folder unless ``--storage`` names one."""
    if not storage:
        return f"journal:{study_dir / JOURNAL}"
    if storage.startswith(("sqlite:///", "postgresql://", "postgresql+psycopg2://", "mysql://", "journal:")):
        return storage
    if "://" not in storage:
        return f"journal:{storage}"  # a plain path: a journal file there
    raise ProblemError([Problem("--storage", 0, "", f"unsupported storage '{redact(storage)}'", "usage",
                                "use a journal file path, sqlite:///FILE.db or postgresql://USER@HOST/DB")])


def redact(url: str) -> str:
    """The URL without its password (it goes into files and onto the terminal)."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def open_storage(url: str):
    """An Optuna storage for ``url`` (see ``storage_url``).

    Raises:
        ProblemError: the database cannot be reached or the journal file cannot be opened.
    """
    import optuna
    from optuna.storages import JournalStorage, RDBStorage
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # the command reports progress itself
    try:
        if url.startswith("journal:"):
            path = Path(url[len("journal:"):])
            path.parent.mkdir(parents=True, exist_ok=True)
            return JournalStorage(JournalFileBackend(str(path)))
        kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {"pool_pre_ping": True}
        # NOTE: SQLAlchemy 2.1 reads a bare postgresql:// as psycopg 3, 2.0 as psycopg2: name the driver we ship.
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg2://" + url[len("postgresql://"):]
        return RDBStorage(url, engine_kwargs=kwargs)
    except (OSError, ImportError, optuna.exceptions.StorageInternalError) as exc:
        raise ProblemError([Problem("--storage", 0, "", f"cannot open the study storage {redact(url)}: "
                                    f"{str(exc).splitlines()[0][:300]}", "io")]) from None
    except Exception as exc:  # noqa: BLE001 - SQLAlchemy's connection errors have no common base here
        if type(exc).__module__.startswith("sqlalchemy"):
            raise ProblemError([Problem("--storage", 0, "", f"cannot open the study storage {redact(url)}: "
                                        f"{str(exc).splitlines()[0][:300]}", "io")]) from None
        raise


def constraints_of(trial) -> list[float]:
    """The trial's constraint values (<= 0 when met), as the worker recorded them."""
    values = trial.user_attrs.get("constraints")
    return [float(v) for v in values] if values else [1.0] * len(CONSTRAINTS)


def sampler(seed: int, worker: int, budget: int):
    """A seeded multi-objective TPE sampler that respects the constraints.

    NOTE: worker ``i`` seeds with ``seed + i``, so one worker with one seed always proposes the same trials,
    and parallel workers do not propose the same ones. The first trials are the recipes as shipped (queued
    by the command), then a few random ones, then TPE.
    """
    import optuna

    return optuna.samplers.TPESampler(seed=seed + worker, multivariate=True, group=True,
                                      n_startup_trials=min(10, max(3, budget // 4)),
                                      constraints_func=constraints_of)


def create_study(storage, name: str, fingerprint: dict, sampler_=None):
    """Create the study or load it; a study of that name made for other inputs is refused.

    Raises:
        ProblemError: the study exists with another fingerprint (other questionnaire, model, data, board...).
    """
    import optuna

    study = optuna.create_study(storage=storage, study_name=name, load_if_exists=True, sampler=sampler_,
                                directions=[d for _n, d in OBJECTIVES])
    found = study.user_attrs.get("fingerprint")
    if found is None:
        study.set_user_attr("fingerprint", fingerprint)
        study.set_user_attr("objectives", [n for n, _d in OBJECTIVES])
        study.set_user_attr("constraints", list(CONSTRAINTS))
        with warnings.catch_warnings():  # experimental in Optuna, stable in use since 3.2
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names([n for n, _d in OBJECTIVES])  # the dashboard's axis names
    elif found != fingerprint:
        changed = sorted(k for k in set(found) | set(fingerprint) if found.get(k) != fingerprint.get(k))
        raise ProblemError([Problem("--study", 0, "", f"study '{name}' exists for other inputs (differs in: "
                                    f"{', '.join(changed)})", "usage",
                                    "use another --study name, or the same questionnaire, model, data and options")])
    return study


@dataclass(frozen=True)
class Counts:
    trials: int  # every trial that is running or finished, retried ones not double-counted
    complete: int
    feasible: int
    infeasible: int  # met no budget; "untrained" of them were never trained
    untrained: int
    failed: int
    running: int
    waiting: int


def counts(trials) -> Counts:
    from optuna.trial import TrialState

    done = [t for t in trials if t.state == TrialState.COMPLETE]
    feasible = [t for t in done if all(v <= 0 for v in constraints_of(t))]
    failed = [t for t in trials if t.state == TrialState.FAIL]
    running = [t for t in trials if t.state == TrialState.RUNNING]
    stale = [t for t in failed if t.user_attrs.get("stale")]
    return Counts(trials=len(done) + len(failed) - len(stale) + len(running), complete=len(done),
                  feasible=len(feasible), infeasible=len(done) - len(feasible),
                  untrained=sum(1 for t in done if t.user_attrs.get("trained") is False),
                  failed=len(failed), running=len(running),
                  waiting=sum(1 for t in trials if t.state == TrialState.WAITING))


def recover_stale(study, now: float | None = None) -> list[int]:
    """Mark failed every running trial whose worker is gone, queue its parameters again; return their numbers.

    NOTE: two workers may find the same dead trial; only the one whose state change succeeds queues the retry.
    """
    import optuna
    from optuna.trial import TrialState

    from advisor.run.manifest import process_alive, process_identity

    now = time.time() if now is None else now
    here = process_identity()["host"]
    recovered = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        worker = t.user_attrs.get("worker")
        if not isinstance(worker, dict):
            continue
        if worker.get("host") == here:
            alive, why = process_alive(worker)
        else:
            beat = t.user_attrs.get("heartbeat", 0.0)
            alive = now - float(beat) < STALE_SECONDS
            why = f"no heartbeat from host {worker.get('host')} for {now - float(beat):.0f} s"
        if alive:
            continue
        storage = study._storage
        try:
            storage.set_trial_user_attr(t._trial_id, "failure", f"its worker died: {why}")
            storage.set_trial_user_attr(t._trial_id, "stale", True)
            storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
        except optuna.exceptions.UpdateFinishedTrialError:
            continue  # another worker recovered it first
        study.enqueue_trial(dict(t.params), user_attrs={"retry_of": t.number})
        recovered.append(t.number)
    return recovered


def dominates(a: tuple, b: tuple) -> bool:
    """a, b = (accuracy, flash, latency): a is no worse in each and better in one."""
    no_worse = a[0] >= b[0] and a[1] <= b[1] and a[2] <= b[2]
    return no_worse and (a[0] > b[0] or a[1] < b[1] or a[2] < b[2])


def point_of(t) -> tuple:
    return float(t.values[0]), float(t.values[1]), float(t.values[2])


def front(trials) -> list:
    """The feasible, trained trials no other such trial dominates, best accuracy first (then least flash);
    a trial that repeated another's parameters (and so its run) stands for nothing new."""
    from optuna.trial import TrialState

    ok = [t for t in trials if t.state == TrialState.COMPLETE and t.user_attrs.get("trained", True)
          and "duplicate_of" not in t.user_attrs and all(v <= 0 for v in constraints_of(t))]
    best = [t for t in ok if not any(dominates(point_of(o), point_of(t)) for o in ok if o is not t)]
    return sorted(best, key=lambda t: (-t.values[0], t.values[1], t.values[2], t.number))
