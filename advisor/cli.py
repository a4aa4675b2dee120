"""The ``tinyml-advisor`` command line: thin typer commands that parse, call one stage, print, exit.

Exit codes are decided here only: 0 ok, 1 findings (e.g. probe disagreements), 2 bad input.
Nothing here imports TensorFlow; ``kb probe-ops`` does so inside its stage.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import NoReturn, Optional

import typer

from . import __version__
from .problems import Problem, ProblemError, did_you_mean

app = typer.Typer(help="Pick a TinyML framework, board and compression recipe; run it; report the risks.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
kb_app = typer.Typer(help="Inspect and check the knowledge base (boards, frameworks, operators, "
                          "techniques, tools, guideline steps, pitfalls).", no_args_is_help=True)
app.add_typer(kb_app, name="kb")

EXIT_OK, EXIT_FINDINGS, EXIT_BAD_INPUT = 0, 1, 2

KnowledgePath = typer.Option(None, "--knowledge", "-k", help="Knowledge-base folder (default: the bundled one).",
                             show_default=False)


def fail(problems: list[Problem]) -> NoReturn:
    """Print every problem to stderr, one per line, and exit 2."""
    for problem in problems:
        typer.echo(problem.render(), err=True)
    count = len(problems)
    typer.echo(f"{count} problem{'s' if count != 1 else ''} found", err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def _load(path: Optional[Path]):
    from .load import load_kb
    from .paths import KNOWLEDGE

    try:
        return load_kb(path or KNOWLEDGE)
    except ProblemError as exc:
        fail(exc.problems)


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
                as_json: bool = typer.Option(False, "--json", help="Print a JSON summary.")) -> None:
    """Check every file: YAML, schema, ids, references, cycles, rule conditions and their cases."""
    from .load import load_kb
    from .paths import KNOWLEDGE

    start = time.perf_counter()
    try:
        kb = load_kb(path or KNOWLEDGE)
    except ProblemError as exc:
        if as_json:
            typer.echo(json.dumps({"ok": False, "problems": [p.as_dict() for p in exc.problems]}, indent=2))
            raise typer.Exit(EXIT_BAD_INPUT) from None
        fail(exc.problems)
    seconds = time.perf_counter() - start
    if as_json:
        typer.echo(json.dumps({"ok": True, "files": kb.files, "counts": kb.counts(), "digest": kb.digest,
                               "seconds": round(seconds, 3)}, indent=2))
        return
    counts = ", ".join(f"{kind}s: {n}" for kind, n in kb.counts().items())
    typer.echo(f"knowledge base OK: {kb.files} files ({counts}) in {seconds:.2f} s")


@kb_app.command("list")
def kb_list(kind: str = typer.Argument(..., help="boards, frameworks, operators, techniques, tools, guideline "
                                                 "or pitfalls (singular works too)."),
            as_json: bool = typer.Option(False, "--json", help="Print JSON."),
            knowledge: Optional[Path] = KnowledgePath) -> None:
    """List the entries of one kind as a table."""
    from .listing import resolve_kind, rows

    kb = _load(knowledge)
    resolved = resolve_kind(kind)
    if resolved is None:
        from .kb import KINDS
        names = list(KINDS) + [k for _s, k, _c in KINDS.values()]
        fail([Problem("<command line>", 0, "KIND", f"unknown kind '{kind}'{did_you_mean(kind, names)}",
                      "usage", "choose one of: " + ", ".join(KINDS))])
    header, table = rows(kb, resolved)
    if as_json:
        typer.echo(json.dumps([e.model_dump(mode="json", by_alias=True)
                               for e in kb.entities[resolved].values()], indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    out = Table(title=f"{resolved}s: {len(table)}", header_style="bold")
    for col in header:
        out.add_column(col, overflow="fold")
    for row in table:
        out.add_row(*row)
    Console(width=max(160, Console().width)).print(out)


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
        typer.echo(json.dumps({"kind": kb.kind_of(entity_id), "file": kb.where[entity_id].file, **data}, indent=2))
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
    """Build a one-op int8 model per claimed operator, run it in the installed tflite-micro
    interpreter (each in a child process) and list every disagreement with the knowledge base."""
    from .probe import probe_claims

    kb = _load(knowledge)
    wanted = [o.strip().upper() for o in ops.split(",") if o.strip()] if ops else None
    try:
        report = probe_claims(kb, framework, wanted, jobs=jobs, progress=not as_json)
    except ProblemError as exc:
        fail(exc.problems)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
    else:
        report.print()
    raise typer.Exit(EXIT_FINDINGS if report.disagreements else EXIT_OK)


def run() -> None:  # pragma: no cover - console entry for `python -m advisor`
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run())
