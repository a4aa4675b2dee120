"""A run folder as the report reads it: manifest.json and metrics.json through files.py, schema-checked."""

from __future__ import annotations

import json
from pathlib import Path

from advisor.files import check_input, read_text
from advisor.kb.schemas import validate
from advisor.kb.yamlio import LineMap, load_yaml_text
from advisor.problems import Problem, ProblemError, display_path

# NOTE: a hand-edited or truncated file is bad input (manifest.json:LINE: $.path message, exit 2), never a
# KeyError later in the report. A run that has not finished (run_state: running, or killed) is read as
# incomplete; its metrics.json may not exist yet.
# States of advisor.run.manifest.run_state that mean the run has not finished: still in progress, or stopped
# without a word (killed, the machine went down).
UNFINISHED = frozenset({"running", "incomplete"})


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _parse(text: str, name: str) -> object:
    """Strict JSON (no NaN or Infinity); a syntax error names its line."""
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ProblemError([Problem(name, exc.lineno, "", f"invalid JSON: {exc.msg} (column {exc.colno})",
                                    "json")]) from None
    except ValueError as exc:
        raise ProblemError([Problem(name, 0, "", f"invalid JSON: {exc}", "json")]) from None
    except RecursionError:
        raise ProblemError([Problem(name, 0, "", "invalid JSON: nested too deeply", "json")]) from None


def _lines(text: str, name: str) -> LineMap:
    """Line of each JSON path (JSON is YAML); empty when the text defeats the YAML reader."""
    try:
        return load_yaml_text(text, name)[1]
    except (ProblemError, RecursionError):
        return {}


def read_json(path: Path, schema: str, what: str) -> object:
    """Read ``path`` (kind ``run``), parse it as JSON and check it against ``<schema>.schema.json``.

    Args:
        path: the file.
        schema: the schema name (``manifest``, ``metrics``).
        what: how messages name the file.
    Returns:
        The parsed data, valid against the schema.
    Raises:
        ProblemError: unreadable (missing, a FIFO, too big, not UTF-8), invalid JSON, or against the schema,
            each problem with its line and JSON path.
    """
    name = display_path(path)
    text = read_text(path, "run", what)
    data = _parse(text, name)
    if validate(data, schema, name, {}):
        # NOTE: lines are mapped only when something is wrong: a valid file is never parsed twice.
        raise ProblemError(validate(data, schema, name, _lines(text, name)))
    return data


def load_run(run_dir: Path) -> dict:
    """The manifest and metrics of a run folder, both valid against their schemas.

    Returns:
        ``{"dir", "manifest", "metrics", "tflite", "complete", "state", "state_reason"}`` (state and reason
        from ``advisor.run.manifest.run_state``); ``metrics`` is ``{}`` for an unfinished run that has not
        written it yet, ``tflite`` the path of its model.tflite once converted, else None.
    Raises:
        ProblemError: no such folder, not a run folder, or a file there that is unreadable or invalid.
    """
    run_dir = Path(run_dir)
    name = display_path(run_dir)
    check_input(run_dir, "run", "run folder", allow_dir=True)
    if not run_dir.is_dir():
        raise ProblemError([Problem(name, 0, "", "is a file, expected a run folder (runs/<id>/)", "io")])
    manifest_path, metrics_path = run_dir / "manifest.json", run_dir / "metrics.json"
    if not manifest_path.exists() and not manifest_path.is_symlink():
        raise ProblemError([Problem(name, 0, "", "not a run folder (no manifest.json)", "io",
                                    "pass a folder that `tinyml-advisor run` wrote: runs/<id>/")])
    manifest = read_json(manifest_path, "manifest", "run manifest")
    from advisor.run.manifest import run_state  # NOTE: after the schema check, so it reads a valid manifest

    state = run_state(run_dir)
    complete = state.state not in UNFINISHED
    if not complete and not metrics_path.exists() and not metrics_path.is_symlink():
        metrics: dict = {}
    elif not metrics_path.exists() and not metrics_path.is_symlink():
        raise ProblemError([Problem(display_path(metrics_path), 0, "", f"missing: the manifest says the run "
                                    f"ended ({manifest['status']}), and a finished run writes metrics.json", "io")])
    else:
        metrics = read_json(metrics_path, "metrics", "run metrics file")
    # NOTE: the model is read only once its convert step finished: a run killed mid-write leaves a partial file.
    converted = any(s["uses"] == "convert" and s["status"] == "ok" for s in manifest["steps"])
    tflite = run_dir / "model.tflite"
    return {"dir": str(run_dir), "manifest": manifest, "metrics": metrics, "complete": complete,
            "state": state.state, "state_reason": state.reason,
            "tflite": str(tflite) if converted and tflite.is_file() else None}


def load_search(study_dir: Path) -> tuple[dict, dict | None]:
    """A search study folder's pareto.json (valid against its schema) and the chosen point's run, when it is here.

    Returns:
        (the pareto document, ``load_run`` of the chosen point's run folder or None when there is no chosen
        point or its run was made on another machine).
    Raises:
        ProblemError: no such folder, no pareto.json, or one that is unreadable or invalid.
    """
    study_dir = Path(study_dir)
    check_input(study_dir, "run", "search study folder", allow_dir=True)
    path = study_dir / "pareto.json"
    if not path.exists() and not path.is_symlink():
        raise ProblemError([Problem(display_path(study_dir), 0, "", "not a search study folder (no pareto.json)", "io",
                                    "pass the runs/<study>/ folder that `tinyml-advisor search` wrote")])
    doc = read_json(path, "pareto", "search result")
    chosen = next((p for p in doc["front"] if p["trial"] == doc["chosen"]), None)
    run_dir = study_dir / chosen["run_dir"] if chosen and chosen["run_dir"] else None
    return doc, (load_run(run_dir) if run_dir is not None and run_dir.is_dir() else None)
