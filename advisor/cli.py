"""The ``tinyml-advisor`` command line: thin typer commands that parse, call one stage, print, exit.

Exit codes are decided in one function, ``exit_code_for``: 0 ok, 1 findings (risks at ``--fail-on``,
nothing feasible, a probe disagreement, a failed recipe step), 2 bad input (every ``ProblemError``
and every user path the system refuses), 3 an internal error (one line on the terminal, the
traceback in a log file), 130 interrupted. Nothing here imports TensorFlow; ``run``, ``kb probe-ops``
and ``profile`` of a Keras model do so inside their stages, after checking the ``ml`` extra is there.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path
from typing import NoReturn, Optional

import typer
from typer.core import TyperGroup
from typer.exceptions import Abort, TyperException

from advisor import __version__
from advisor.problems import Problem, ProblemError, check_ids, did_you_mean

EXIT_OK, EXIT_FINDINGS, EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def exit_code_for(exc: BaseException) -> int:
    """The one place that turns what a command raised into an exit code, printing what the user sees.

    Returns:
        0-3 or 130; click's own exits (``typer.Exit``, usage errors) never reach here.
    """
    if isinstance(exc, ProblemError):
        _print_problems(exc.problems)
        return EXIT_BAD_INPUT
    if isinstance(exc, (KeyboardInterrupt, EOFError, Abort)):
        typer.echo("interrupted", err=True)
        return EXIT_INTERRUPTED
    if isinstance(exc, OSError) and exc.filename is not None:
        from advisor.files import os_reason
        from advisor.problems import display_path
        _print_problems([Problem(display_path(str(exc.filename)), 0, "", os_reason(exc), "io")])
        return EXIT_BAD_INPUT
    log = _crash_log(exc)
    first = (str(exc).strip().splitlines() or [""])[0][:200]
    typer.echo(f"internal error: {type(exc).__name__}{': ' + first if first else ''} -- a bug in "
               f"tinyml-advisor, not in your input; the traceback is in {log}", err=True)
    return EXIT_INTERNAL


def _print_problems(problems: list[Problem]) -> None:
    for problem in problems:
        typer.echo(problem.render(), err=True)
    count = len(problems)
    typer.echo(f"{count} problem{'s' if count != 1 else ''} found", err=True)


def _crash_log(exc: BaseException) -> Path:
    """Write the traceback of an unexpected error to a new log file; return its path."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    text = (f"tinyml-advisor {__version__} on Python {sys.version.split()[0]}\n"
            f"argv: {sys.argv!r}\n\n" + "".join(traceback.format_exception(exc)))
    import tempfile
    from advisor.files import cache_dir

    for folder in (cache_dir() / "logs", Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"crash-{stamp}-{os.getpid()}.log"
            path.write_text(text, encoding="utf-8")
            return path
        except OSError:
            continue
    return Path("<no writable log folder>")


class _Group(TyperGroup):
    """Every command runs inside ``exit_code_for``: no traceback ever reaches the terminal."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (typer.Exit, TyperException, SystemExit):
            raise  # typer's own exits and usage errors (exit 2) keep their codes
        except BaseException as exc:  # noqa: BLE001 - this is the one place exceptions become exit codes
            raise typer.Exit(exit_code_for(exc)) from None


app = typer.Typer(cls=_Group, help="Pick a TinyML framework, board and compression recipe; run it; report the risks.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
kb_app = typer.Typer(help="Inspect and check the knowledge base (boards, frameworks, operators, "
                          "techniques, tools, guideline steps, pitfalls).", no_args_is_help=True)
app.add_typer(kb_app, name="kb")

KnowledgePath = typer.Option(None, "--knowledge", "-k", help="Knowledge-base folder (default: the bundled one).",
                             show_default=False)
ML_MODULES = ("numpy", "tensorflow", "tf_keras", "tensorflow_model_optimization", "tflite_micro")


def fail(problems: list[Problem]) -> NoReturn:
    """Bad input: raise it so ``exit_code_for`` prints every problem and exits 2."""
    raise ProblemError(problems)


def echo_json(data: object) -> None:
    """Print JSON output; NaN and infinities are never printed (they are not JSON), they are a bug."""
    typer.echo(json.dumps(data, indent=2, allow_nan=False))


def require_ml(what: str) -> None:
    """Exit 2 with the install command when the ``ml`` extra (TensorFlow, TFMOT, tflite-micro) is missing."""
    import importlib.util

    missing = [m for m in ML_MODULES if importlib.util.find_spec(m) is None]
    if missing:
        fail([Problem("<install>", 0, "", f"{what} needs the ml extra (missing: {', '.join(missing)})", "usage",
                      "install it with: pip install 'tinyml-advisor[ml]'")])


def _load(path: Optional[Path]):
    """The knowledge base at ``path`` (default: the bundled one), compiled once and then read from the cache."""
    from advisor.kb.cache import load_cached
    from advisor.resources import KNOWLEDGE

    return load_cached(path or KNOWLEDGE)[0]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tinyml-advisor {__version__}")
        raise typer.Exit()


@app.callback()
def main(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                      help="Print the version and exit.")) -> None:
    """tinyml-advisor: from requirements to a ranked, explained TinyML stack."""


@kb_app.command("validate")
def kb_validate(path: Optional[Path] = typer.Argument(None, help="Knowledge-base folder (default: bundled)."),
                as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
                no_cache: bool = typer.Option(False, "--no-cache", help="Load and check every file again, even when "
                                                                        "this exact knowledge base passed before."),
                stats: bool = typer.Option(False, "--stats", help="Also count boards per vendor, class and core "
                                                                  "class, and frameworks per kind and vendor.")
                ) -> None:
    """Check every file: YAML, schema, ids, references, cycles, rule conditions and their cases.

    A knowledge base that passed before with the same files, schemas and tool version is OK "(cached)":
    only ones that passed are cached, keyed by a digest of all of them.
    """
    from advisor.kb.cache import load_cached, validated_summary
    from advisor.resources import KNOWLEDGE

    start = time.perf_counter()
    # NOTE: one that passed under the same key is not even loaded: the result is a function of the key.
    summary = None if no_cache else validated_summary(path or KNOWLEDGE)
    cached, kb = summary is not None, None
    if summary is None:
        try:
            kb, cached = load_cached(path or KNOWLEDGE, use_cache=not no_cache)
        except ProblemError as exc:
            if as_json:
                typer.echo(json.dumps({"ok": False, "problems": [p.as_dict() for p in exc.problems]}, indent=2))
                raise typer.Exit(EXIT_BAD_INPUT) from None
            fail(exc.problems)
        summary = {"files": kb.files, "counts": kb.counts(), "digest": kb.digest}
    seconds = time.perf_counter() - start
    if stats:
        from advisor.kb.stats import kb_stats

        # NOTE: a cached pass did not load the knowledge base; it is known valid, so this load cannot fail.
        counted = kb_stats(kb or load_cached(path or KNOWLEDGE)[0])
    if as_json:
        typer.echo(json.dumps({"ok": True, "cached": cached, **summary, "seconds": round(seconds, 3),
                               **({"stats": counted} if stats else {})}, indent=2))
        return
    counts = ", ".join(f"{'families' if kind == 'family' else kind + 's'}: {n}"
                       for kind, n in summary["counts"].items())
    typer.echo(f"knowledge base OK: {summary['files']} files ({counts}) in {seconds:.2f} s"
               f"{' (cached)' if cached else ''}")
    if stats:
        from rich.console import Console

        from advisor.console.listing import print_stats
        print_stats(counted, Console())


@kb_app.command("list")
def kb_list(kind: str = typer.Argument(..., help="boards, frameworks, operators, techniques, tools, guideline "
                                                 "or pitfalls (singular works too)."),
            as_json: bool = typer.Option(False, "--json", help="Print JSON."),
            knowledge: Optional[Path] = KnowledgePath) -> None:
    """List the entries of one kind as a table."""
    from advisor.console.listing import print_kind, resolve_kind

    kb = _load(knowledge)
    resolved = resolve_kind(kind)
    if resolved is None:
        from advisor.kb.base import KINDS
        names = list(KINDS) + [k for _s, k, _c in KINDS.values()]
        fail([Problem("<command line>", 0, "KIND", f"unknown kind '{kind}'{did_you_mean(kind, names)}",
                      "usage", "choose one of: " + ", ".join(KINDS))])
    if as_json:
        echo_json([e.model_dump(mode="json", by_alias=True) for e in kb.entities[resolved].values()])
        return
    from rich.console import Console

    print_kind(kb, resolved, Console(width=max(160, Console().width)))


@kb_app.command("show")
def kb_show(entity_id: str = typer.Argument(..., metavar="ID", help="Any entry's id."),
            as_json: bool = typer.Option(False, "--json", help="Print JSON instead of YAML."),
            knowledge: Optional[Path] = KnowledgePath) -> None:
    """Show one entry with its sources and where it is defined."""
    import yaml

    kb = _load(knowledge)
    entity = kb.get(entity_id)
    if entity is None:
        fail([Problem("<command line>", 0, "ID", f"no entry '{entity_id}'"
                      f"{did_you_mean(entity_id, [e.id for e in kb.all()])}", "usage")])
    data = entity.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    if as_json:
        echo_json({"kind": kb.kind_of(entity_id), "file": kb.where[entity_id].file, **data})
        return
    typer.echo(f"# {kb.kind_of(entity_id)} from {kb.where[entity_id].file}")
    typer.echo(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100).rstrip())


@kb_app.command("probe-ops")
def kb_probe_ops(ops: Optional[str] = typer.Option(None, "--ops", help="Comma-separated op names to probe "
                                                                     "(default: every op claimed for TFLM)."),
                 framework: str = typer.Option("tflite-micro", "--framework", help="Framework whose claims to check."),
                 jobs: int = typer.Option(2, "--jobs", "-j", min=1, help="Probes run in parallel."),
                 as_json: bool = typer.Option(False, "--json", help="Print JSON."),
                 knowledge: Optional[Path] = KnowledgePath) -> None:
    """Build a one-op model per claimed (operator, dtype), run it in the installed tflite-micro
    interpreter (each in a child process) and list every disagreement with the knowledge base."""
    require_ml("kb probe-ops")
    from advisor.run.probe import probe_claims

    kb = _load(knowledge)
    wanted = [o.strip().upper() for o in ops.split(",") if o.strip()] if ops else None
    report = probe_claims(kb, framework, wanted, jobs=jobs, progress=not as_json)
    if as_json:
        echo_json(report.as_dict())
    else:
        from rich.console import Console

        from advisor.console.probe import print_probe
        print_probe(report, Console())
    raise typer.Exit(EXIT_FINDINGS if report.disagreements else EXIT_OK)


TopOption = typer.Option(5, "--top", "-n", min=1, help="How many recommendations to show.")


def _requirements(path: Path, kb):
    from advisor.questionnaire.requirements import load_requirements

    return load_requirements(path, kb)


def _weights(req, pairs: list[str]):
    from advisor.questionnaire.requirements import WEIGHT_KEYS

    weights = dict(req.weights)
    for pair in pairs:
        name, _, value = pair.partition("=")
        try:
            number = float(value)
        except ValueError:
            number = -1.0
        if name not in WEIGHT_KEYS or not 0 <= number <= 10:
            fail([Problem("--weight", 0, "", f"expected NAME=VALUE with NAME one of {', '.join(WEIGHT_KEYS)}"
                          f" and VALUE in 0..10, got '{pair}'{did_you_mean(name, WEIGHT_KEYS)}", "usage")])
        weights[name] = number
    from dataclasses import replace
    return replace(req, weights=weights)


@app.command("advise")
def advise(requirements: Path = typer.Argument(..., help="Questionnaire (.yaml or .json); see `init`."),
           top: int = TopOption,
           why_not: list[str] = typer.Option([], "--why-not", "-w", metavar="ID",
                                             help="Explain why a board, framework, recipe or reference model is "
                                                  "rejected or not ranked higher (repeatable)."),
           pareto: bool = typer.Option(False, "--pareto", help="Also show the Pareto front over cost, energy "
                                                             "and latency."),
           weight: list[str] = typer.Option([], "--weight", metavar="NAME=VALUE",
                                            help="Override an objective weight, e.g. --weight cost=3 (repeatable)."),
           as_json: bool = typer.Option(False, "--json", help="Print JSON (schemas/advice.schema.json)."),
           board: Optional[str] = typer.Option(None, "--board", help="Rank only stacks on this board."),
           framework: Optional[str] = typer.Option(None, "--framework", help="Rank only stacks with this framework."),
           recipe: Optional[str] = typer.Option(None, "--recipe", help="Rank only stacks with this recipe."),
           model: Optional[Path] = typer.Option(None, "--model", "-m", help="Estimate on this model file instead "
                                                "of the questionnaire's (.tflite; .keras/.h5/SavedModel are "
                                                "converted once in a child process and cached)."),
           knowledge: Optional[Path] = KnowledgePath) -> None:
    """Rank (board, framework, recipe) stacks for a questionnaire and explain the choice.

    Exit 0 with at least one feasible stack, 1 when nothing fits (the smallest relaxations are
    listed), 2 on bad input.
    """
    from advisor.solve.advice import build_advice

    kb = _load(knowledge)
    req = _weights(_requirements(requirements, kb), weight)
    if model is not None:
        from advisor.questionnaire.requirements import with_model_file
        req = with_model_file(req, model)
    from advisor.profile.basis import basis_for
    from advisor.solve.solver import solve

    from advisor.solve.solver import pinned

    check_ids((("--board", board, kb.boards), ("--framework", framework, kb.frameworks),
               ("--recipe", recipe, kb.recipes)))
    solution = pinned(solve(req, kb, basis_for(req, kb)), board or "", framework or "", recipe or "")
    advice = build_advice(solution, kb, top=top, why=tuple(why_not), pareto=pareto)
    if as_json:
        echo_json(advice)
    else:
        from rich.console import Console

        from advisor.console.advice import print_advice
        print_advice(advice, Console(width=max(140, Console().width)))
    raise typer.Exit(EXIT_OK if solution.candidates else EXIT_FINDINGS)


@app.command("init")
def init(path: Path = typer.Argument(Path("requirements.yaml"), help="Where to write the questionnaire."),
         task: str = typer.Option("keyword-spotting", "--task", help="Task to pre-fill."),
         project: str = typer.Option("My TinyML project", "--project", help="Project name to pre-fill."),
         force: bool = typer.Option(False, "--force", help="Overwrite an existing file.")) -> None:
    """Write a commented questionnaire template to fill in."""
    from advisor.questionnaire.interview import template
    from advisor.questionnaire.requirements import TASK_INPUT

    if task not in TASK_INPUT:
        fail([Problem("--task", 0, "", f"unknown task '{task}'{did_you_mean(task, TASK_INPUT)}", "usage",
                      "choose one of: " + ", ".join(TASK_INPUT))])
    from advisor.files import check_output_file, write_output

    check_output_file(path, "questionnaire", force=force)
    write_output(path, template(path.name, project, task), "questionnaire")
    typer.echo(f"wrote {path}; fill it in, then run: tinyml-advisor advise {path}")


@app.command("ask")
def ask(path: Path = typer.Argument(Path("requirements.yaml"), help="Where to write the questionnaire."),
        force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
        knowledge: Optional[Path] = KnowledgePath) -> None:
    """Answer the questionnaire interactively; writes the same file `init` would."""
    from advisor.questionnaire.interview import dump, interview
    from advisor.questionnaire.requirements import from_mapping

    from advisor.files import check_output_file, write_output

    check_output_file(path, "questionnaire", force=force)
    kb = _load(knowledge)

    def valid_board(board: str) -> str:
        return "" if board in kb.boards else f"unknown board '{board}'{did_you_mean(board, kb.boards)}"

    def valid_framework(fw: str) -> str:
        return "" if fw in kb.frameworks else f"unknown framework '{fw}'{did_you_mean(fw, kb.frameworks)}"

    data = interview(typer.prompt, typer.echo, valid_board, valid_framework)
    from_mapping(data, kb, str(path), base=path.parent)
    write_output(path, dump(data), "questionnaire")
    typer.echo(f"wrote {path}; next: tinyml-advisor advise {path}")


@app.command("profile")
def profile_cmd(model: Path = typer.Argument(..., help="A .tflite or .onnx file, or a .keras/.h5 file or SavedModel "
                                                       "folder (converted with TensorFlow first)."),
                board: Optional[str] = typer.Option(None, "--board", "-b", help="Estimate latency, energy and fit "
                                                                                "on this board."),
                framework: Optional[str] = typer.Option(None, "--framework", help="Runtime on the board (default: "
                                                                                  "tflite-micro where listed)."),
                chart: Optional[Path] = typer.Option(None, "--chart", help="Write the per-layer memory chart "
                                                                           "(SVG) here."),
                as_json: bool = typer.Option(False, "--json", help="Print JSON (schemas/profile.schema.json)."),
                knowledge: Optional[Path] = KnowledgePath) -> None:
    """Per-operator MACs and bytes, the TFLM arena (planned and lower bound), flash, and latency and
    energy on a board. A .tflite or .onnx is read without TensorFlow."""
    from dataclasses import asdict

    from advisor.files import check_input, check_output_file
    from advisor.profile.model import load_model, on_board

    if chart is not None:
        check_output_file(chart, "chart", force=True)
    check_input(model, "model", "model file", allow_dir=True)
    if model.is_dir() or model.suffix.lower() not in (".tflite", ".onnx"):
        require_ml(f"profiling {model.name or model} (a Keras model or SavedModel is converted with TensorFlow first)")
    profile = load_model(model)
    kb = _load(knowledge) if board else None
    estimate = on_board(profile, kb, board, framework) if board else None
    if chart is not None:
        from advisor.report.charts import memory_svg
        limit = (estimate.ram_avail_kb, f"{estimate.board} RAM") if estimate else (None, "")
        from advisor.files import write_output
        write_output(chart, memory_svg(profile, *limit), "chart")
    if as_json:
        echo_json(profile.as_dict() | {"board": asdict(estimate) if estimate else None})
        return
    from rich.console import Console

    from advisor.console.profile import print_profile
    print_profile(profile, estimate, Console(width=max(120, Console().width)))
    if chart is not None:
        typer.echo(f"chart: {chart}")


@app.command("run")
def run_cmd(requirements: Path = typer.Argument(..., help="Questionnaire (.yaml or .json)."),
            model: Optional[Path] = typer.Option(None, "--model", "-m", help="Float Keras model (.keras, .h5 or a "
                                                                          "SavedModel folder); default: model.file "
                                                                          "of the questionnaire."),
            data: Path = typer.Option(..., "--data", "-d", help="An .npz with x_train/y_train, x_test/y_test and/or "
                                                                "x_rep (representative sample)."),
            recipe: Optional[str] = typer.Option(None, "--recipe", "-r", help="Recipe id (default: the solver's "
                                                                              "top choice for the questionnaire)."),
            seed: int = typer.Option(0, "--seed", help="Seed for every random choice (same seed, same bytes)."),
            runs: Path = typer.Option(Path("runs"), "--runs", help="Folder that receives a new run folder."),
            knowledge: Optional[Path] = KnowledgePath) -> None:
    """Run a compression recipe end-to-end: train/compress, convert, evaluate, validate in TFLite Micro,
    export C sources. Writes a new runs/<id>/ with the artifacts, metrics.json and manifest.json.

    Exit 0 when every step passed, 1 when a step failed (the manifest says which and why), 2 on bad input.
    """
    from rich.console import Console

    from advisor.console.progress import step_printer
    from advisor.files import check_output_dir
    from advisor.questionnaire.requirements import load_requirements

    require_ml("run")
    from advisor.run.runner import recipe_for, run_recipe

    console = Console(stderr=True)
    kb = _load(knowledge)
    req = load_requirements(requirements, kb)
    model_path = model or req.model_file
    if model_path is None:
        raise ProblemError([Problem("--model", 0, "", "no model: pass --model or set model.file in the "
                                    "questionnaire", "usage")])
    if recipe is None:
        from advisor.profile.basis import from_profile
        from advisor.profile.model import load_model
        from advisor.solve.solver import solve
        from advisor.questionnaire.requirements import with_model_file
        # NOTE: judged on the model that runs (its format decides which recipes can run: no retraining for ONNX)
        candidates = solve(with_model_file(req, model_path) if model else req, kb,
                           from_profile(load_model(Path(model_path), req.input_shape))).candidates
        if not candidates:
            console.print("no stack satisfies the questionnaire; see `tinyml-advisor advise`, or pass --recipe")
            raise typer.Exit(EXIT_FINDINGS)
        top = candidates[0]
        recipe = top.recipe
        console.print(f"recipe: {recipe} (the solver's top choice: {top.board} + {top.framework})")
        if req.model_file is None or Path(req.model_file).resolve() != Path(model_path).resolve():
            from advisor.profile.basis import basis_for
            advised = solve(req, kb, basis_for(req, kb))
            first = advised.candidates[0] if advised.candidates else None
            if first is None or first.key != top.key:
                said = f"{first.board} + {first.framework} + {first.recipe}" if first else "nothing feasible"
                console.print(f"note: `advise` on this questionnaire says {said}, estimated on "
                              f"{advised.basis.note}; this run profiles {model_path} itself, so its choice "
                              "differs (pass --model to advise for the same answer)")
    chosen = recipe_for(kb, recipe)
    from advisor.run.needs import retrains

    if retrains(chosen) and req.data != "labelled":
        raise ProblemError([Problem(req.file, 0, "$.data", f"recipe '{chosen.id}' retrains the model and needs "
                                    f"labelled training data; the questionnaire says data: {req.data}",
                                    "requirements")])
    check_output_dir(runs, "runs folder")
    outcome = run_recipe(kb, chosen, Path(model_path), data, runs, seed, requirements,
                         on_step=step_printer(console))
    if outcome.exit_code == 0:
        console.print(f"[green]run ok[/green]: {outcome.run_dir}")
        typer.echo(str(outcome.run_dir))
    else:
        typer.echo(f"{outcome.status}: {outcome.message}", err=True)
        typer.echo(f"manifest: {outcome.run_dir / 'manifest.json'}", err=True)
    raise typer.Exit(outcome.exit_code)


@app.command("search")
def search_cmd(requirements: Path = typer.Argument(..., help="Questionnaire (.yaml or .json)."),
               model: Optional[Path] = typer.Option(None, "--model", "-m", help="Float Keras model; default: model.file "
                                                                             "of the questionnaire."),
               data: Path = typer.Option(..., "--data", "-d", help="An .npz with x_test/y_test, x_rep or x_train, and "
                                                                   "x_train/y_train for retraining recipes."),
               board: Optional[str] = typer.Option(None, "--board", help="Board id (default: the advice's top choice)."),
               framework: Optional[str] = typer.Option(None, "--framework", help="Framework id (default: the advice's "
                                                                                 "top choice on that board)."),
               recipe: list[str] = typer.Option([], "--recipe", "-r", help="Limit the search to this int8 recipe "
                                                                           "(repeatable; default: every feasible one)."),
               family: Optional[str] = typer.Option(None, "--family", help="Architecture family to vary (default: the "
                                                                           "model's, when it is one; 'none' to keep "
                                                                           "the architecture)."),
               trials: int = typer.Option(12, "--trials", "-n", min=1, max=100_000,
                                          help="Trials in the study in all (a continued study counts its earlier ones)."),
               timeout: Optional[float] = typer.Option(None, "--timeout", min=1.0, help="Stop starting trials after "
                                                                                        "this many seconds."),
               workers: int = typer.Option(1, "--workers", "-w", min=1, max=64, help="Worker processes on this machine."),
               storage: Optional[str] = typer.Option(None, "--storage", help="Optuna storage shared by every worker: a "
                                                     "journal file (default: runs/<study>/journal.log), "
                                                     "sqlite:///FILE.db or postgresql://USER@HOST/DB."),
               study: Optional[str] = typer.Option(None, "--study", help="Study name (default: from the inputs; the "
                                                                         "same name continues or joins a study)."),
               seed: int = typer.Option(0, "--seed", help="Seed of the sampler and of every run."),
               runs: Path = typer.Option(Path("runs"), "--runs", help="Folder that receives runs/<study>/."),
               as_json: bool = typer.Option(False, "--json", help="Print pareto.json instead of the table."),
               knowledge: Optional[Path] = KnowledgePath) -> None:
    """Search recipe and architecture parameters under the board's budget (Optuna, multi-objective): TFLM accuracy,
    flash and latency on the board, with RAM, flash and latency budgets as constraints. Every point of the front is
    a real run (runs/<study>/trials/<id>/). Writes runs/<study>/pareto.json; exit 0 with a feasible point, 1 with
    none, 2 on bad input, 130 interrupted.
    """
    from rich.console import Console

    from advisor.console.search import front_table, progress_printer
    from advisor.files import check_output_dir
    from advisor.questionnaire.requirements import load_requirements

    require_ml("search")
    import importlib.util

    if importlib.util.find_spec("optuna") is None:
        fail([Problem("<install>", 0, "", "search needs optuna", "usage",
                      "install it with: pip install 'tinyml-advisor[ml]'")])
    from advisor.search.command import Options, prepare, run_search

    console = Console(stderr=True)
    kb = _load(knowledge)
    req = load_requirements(requirements, kb)
    model_path = model or req.model_file
    if model_path is None:
        fail([Problem("--model", 0, "", "no model: pass --model or set model.file in the questionnaire", "usage")])
    check_output_dir(runs, "runs folder")
    opts = Options(requirements, Path(model_path), data, board, framework, list(recipe), family, trials, timeout,
                   workers, storage, study, seed, runs, knowledge)
    prepared = prepare(opts, kb, req)
    for note in prepared.notes:
        console.print(f"note: {note}")
    plan = prepared.plan
    console.print(f"study {plan['study']} ({plan['storage']}): {plan['board']} + {plan['framework']}, recipes "
                  f"{', '.join(plan['recipes'])}{', family ' + plan['family'] if plan['family'] else ''}; "
                  f"{workers} worker(s), {trials} trials")
    code, doc = run_search(prepared, workers, progress_printer(console, trials))
    for w in doc["workers"]:
        if w["exit_code"] not in (0, EXIT_INTERRUPTED):
            console.print(f"[red]worker {w['index']} exited with code {w['exit_code']}[/red]: see "
                          f"{prepared.study_dir / w['log']}")
    if as_json:
        echo_json(doc)
    else:
        Console().print(front_table(doc)) if doc["front"] else console.print(
            "no feasible point: " + "; ".join(sorted({b for p in doc["infeasible"] for b in p["broken"]})[:5]
                                              or [f["reason"] for f in doc["failed"]][:3] or ["no trial finished"]))
        console.print(f"pareto front: {prepared.study_dir / 'pareto.json'}")
    raise typer.Exit(code)


@app.command("report")
def report_cmd(requirements: Path = typer.Argument(..., help="Questionnaire (.yaml or .json)."),
               run_dir: Optional[Path] = typer.Option(None, "--run", help="A runs/<id> folder to include."),
               search_dir: Optional[Path] = typer.Option(None, "--search", help="A runs/<study> folder of `search`: "
                                                         "its Pareto front, and the chosen point's run (unless --run)."),
               out: Path = typer.Option(Path("report"), "--output", "-o", help="Folder for the report files."),
               formats: str = typer.Option("md,json,html", "--format", help="Comma-separated: md, json, html, issue (the open items as a task list, report-issue.md; written and "
                                                                           "printed in this order)."),
               fail_on: Optional[str] = typer.Option(None, "--fail-on", help="Exit 1 when a risk at or above this "
                                                                            "severity fires (info, low, medium, "
                                                                            "high, critical)."),
               force: bool = typer.Option(False, "--force", help="Overwrite report files even when they were "
                                                                "edited since this tool wrote them."),
               knowledge: Optional[Path] = KnowledgePath) -> None:
    """Write the five-step checklist report (Markdown, self-contained HTML, JSON) for a questionnaire,
    with a run's results when given. Prints the path of each file written."""
    from advisor.kb.entities import SEVERITIES
    from advisor.report.render import RENDERERS, write
    from advisor.report.build import build_report, load_run
    from advisor.questionnaire.requirements import load_requirements

    wanted = [f.strip() for f in formats.split(",") if f.strip()]
    bad = [f for f in wanted if f not in RENDERERS]
    if bad or not wanted:
        fail([Problem("--format", 0, "", f"unknown format '{bad[0] if bad else formats}'"
                      f"{did_you_mean(bad[0], RENDERERS) if bad else ''}", "usage", "choose from: md, html, json, issue")])
    if fail_on is not None and fail_on not in SEVERITIES:
        fail([Problem("--fail-on", 0, "", f"unknown severity '{fail_on}'{did_you_mean(fail_on, SEVERITIES)}", "usage",
                      "choose from: " + ", ".join(SEVERITIES))])
    kb = _load(knowledge)
    req = load_requirements(requirements, kb)
    run = load_run(run_dir) if run_dir else None
    search = None
    if search_dir is not None:
        from advisor.report.runfiles import load_search

        search, chosen_run = load_search(search_dir)
        run = run or chosen_run
    report = build_report(req, kb, run, search=search)
    for path in write(report, out, wanted, force=force):
        typer.echo(str(path))
    worst = report["worst_severity"]
    if fail_on is not None and worst is not None and SEVERITIES.index(worst) >= SEVERITIES.index(fail_on):
        typer.echo(f"risks at or above {fail_on} fired (worst: {worst})", err=True)
        raise typer.Exit(EXIT_FINDINGS)


def run() -> None:  # pragma: no cover - console entry for `python -m advisor`
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run())
