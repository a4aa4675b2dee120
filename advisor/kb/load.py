"""Load and validate a knowledge base folder: YAML -> JSON Schema -> pydantic -> graph -> rules.

Every problem in every file is collected in one pass; the caller gets either a KnowledgeBase or a
ProblemError carrying all of them.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from pydantic import ValidationError

from advisor.kb.references import build_graph
from advisor.kb.base import (KINDS, RECIPES_FOLDER, CompiledConstraint, CompiledPitfall, KnowledgeBase, Located,
                             recipes_folder)
from advisor.kb.entities import Pitfall
from advisor.files import check_input, os_reason, read_text
from advisor.resources import KNOWLEDGE
from advisor.problems import Problem, ProblemError, did_you_mean, display_path, json_path
from advisor.rules.core import (RuleError, apply_overrides, compile_condition, compile_template, fields_read, nominal_context,
                    stage_of, vocabulary)
from advisor.kb.schemas import validate
from advisor.kb.yamlio import describe_type, line_of, load_yaml_text

YAML_SUFFIXES = (".yaml", ".yml")


def _walk(folder: Path, recursive: bool, seen: set, problems: list[Problem]) -> list[Path]:
    """Every non-hidden file below ``folder``, checked, in sorted order; each unreadable entry is one problem.

    NOTE: a folder is entered once by its (device, inode), so a symlink back up the tree is reported as a
    loop instead of walked forever; a FIFO, device or oversized file is refused by ``check_input``
    before anything opens it.
    """
    try:
        info = folder.stat()
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        problems.append(Problem(display_path(folder), 0, "", f"cannot read the folder: {os_reason(exc)}", "io"))
        return []
    if (info.st_dev, info.st_ino) in seen:
        problems.append(Problem(display_path(folder), 0, "", "is a symlink loop (a folder that contains itself)",
                                "io"))
        return []
    seen.add((info.st_dev, info.st_ino))
    out: list[Path] = []
    for entry in entries:
        path = Path(entry.path)
        if entry.name.startswith("."):
            continue
        try:
            is_dir = entry.is_dir()  # follows a symlink; a loop raises, and is checked below
        except OSError:
            is_dir = False
        if is_dir:
            if recursive:
                out += _walk(path, True, seen, problems)
            continue
        try:
            check_input(path, "knowledge", "knowledge-base file")
        except ProblemError as exc:
            problems += exc.problems
            continue
        out.append(path)
    return out


def _files(root: Path, recipes: Path | None) -> tuple[list[tuple[str, Path, Path]], list[Problem]]:
    """(folder, file, the root it is under) for every entity file, and layout problems."""
    found, problems = [], []
    seen: set = set()
    paths = [(root, p) for p in _walk(root, True, seen, problems)]
    if recipes is not None and recipes.is_dir():
        paths += [(recipes.parent, p) for p in _walk(recipes, False, seen, problems)]
    for base, path in paths:
        rel = path.relative_to(base)
        folder = rel.parts[0] if len(rel.parts) > 1 else ""
        if path.suffix not in YAML_SUFFIXES:
            if path.name != "README.md":
                problems.append(Problem(display_path(path), 0, "", "not a YAML file (expected .yaml)", "layout"))
            continue
        if folder not in KINDS or (folder == RECIPES_FOLDER) != (base != root):
            problems.append(Problem(display_path(path), 0, "", f"not in a known folder; put it under one of: "
                                    f"{', '.join(k for k in KINDS if k != RECIPES_FOLDER)}", "layout"))
            continue
        found.append((folder, path, base))
    return found, problems


def _pydantic_problems(exc: ValidationError, file: str, lines: dict) -> list[Problem]:
    out = []
    for err in exc.errors():
        path = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        out.append(Problem(file, line_of(lines, path), json_path(path), err["msg"], "model"))
    return out


def load_kb(root: Path | str = KNOWLEDGE, recipes: Path | str | None = None) -> KnowledgeBase:
    """Load every entity under ``root``, and the recipes in ``recipes`` (default: ``root``'s sibling
    folder ``recipes/`` when it exists, else the packaged recipes).

    Raises:
        ProblemError: with every problem found, if there is any.
    """
    root = Path(root)
    if not root.is_dir():
        if not root.exists():  # says why: missing, a broken symlink, a symlink loop
            check_input(root, "knowledge", "knowledge-base folder", allow_dir=True)
        raise ProblemError([Problem(display_path(root), 0, "", "is not a folder, expected a knowledge-base folder",
                                    "io")])
    kb = KnowledgeBase()
    files, problems = _files(root, recipes_folder(root, recipes))
    broken: set[str] = set()  # ids of entries that failed: references to them are not reported again
    digest = hashlib.sha256()
    for folder, path, base in files:
        schema_name, kind, model = KINDS[folder]
        name = display_path(path)
        try:
            text = read_text(path, "knowledge", "knowledge-base file")
            digest.update(str(path.relative_to(base)).encode() + b"\0" + text.encode("utf-8") + b"\0")
            data, lines = load_yaml_text(text, name)
        except ProblemError as exc:
            problems += exc.problems
            broken.add(path.stem)
            continue
        if not isinstance(data, dict):
            broken.add(path.stem)
            problems.append(Problem(name, line_of(lines, ()), "$", f"expected a mapping (a {kind} entry), "
                                    f"got {describe_type(data)}", "schema"))
            continue
        found = validate(data, schema_name, name, lines)
        ident = data.get("id")
        if isinstance(ident, str) and ident != path.stem:
            found.append(Problem(name, line_of(lines, ("id",)), "$.id",
                                 f"id '{ident}' does not match the file name '{path.stem}'", "id"))
        if isinstance(ident, str) and ident in kb.where:
            first = kb.where[ident]
            found.append(Problem(name, line_of(lines, ("id",)), "$.id",
                                 f"duplicate id '{ident}' (also {first.file}:{line_of(first.lines, ('id',))})",
                                 "id"))
        if found:
            problems += found
            broken.add(path.stem)
            continue
        try:
            entity = model.model_validate(data)
        except ValidationError as exc:
            problems += _pydantic_problems(exc, name, lines)
            broken.add(path.stem)
            continue
        kb.entities[kind][entity.id] = entity
        kb.where[entity.id] = Located(name, lines)
    kb.digest = digest.hexdigest()
    kb.files = len(files)
    _, graph_problems = build_graph(kb, broken)
    problems += graph_problems
    problems += _compile_rules(kb)
    problems += _compile_constraints(kb)
    problems += _check_recipe_steps(kb)
    problems += _check_search(kb)
    if problems:
        raise ProblemError(problems)
    return kb


def _compile_rules(kb: KnowledgeBase) -> list[Problem]:
    """Compile each pitfall's condition and evidence; run its cases against the nominal context."""
    problems = []
    nominal = nominal_context()
    for pitfall in kb.pitfalls.values():
        loc = kb.where[pitfall.id]

        def report(path: tuple, message: str, _loc=loc) -> None:
            problems.append(Problem(_loc.file, line_of(_loc.lines, path), json_path(path), message, "rule"))

        compiled = {}
        for key, compile_ in (("condition", compile_condition), ("evidence", compile_template)):
            try:
                compiled[key] = compile_(getattr(pitfall, key))
            except RuleError as exc:
                report((key,), str(exc))
        if len(compiled) < 2:
            continue
        condition, evidence = compiled["condition"], compiled["evidence"]
        problems_before = len(problems)
        _check_cases(pitfall, condition, evidence, nominal, report)
        if len(problems) == problems_before:
            kb.rules[pitfall.id] = CompiledPitfall(pitfall, condition, evidence)
    return problems


def _check_cases(pitfall: Pitfall, condition, evidence, nominal: dict, report) -> None:
    try:
        if condition(nominal) is not False:
            report(("condition",), "fires on the nominal context (a healthy project); tighten it")
        evidence.render(nominal)
    except Exception as exc:  # noqa: BLE001 - CEL raises TypeError/KeyError/RuntimeError
        report(("condition",), f"cannot be evaluated on the nominal context: {exc}")
        return
    for outcome, cases in (("fires", pitfall.cases.fires), ("quiet", pitfall.cases.quiet)):
        for i, overrides in enumerate(cases):
            path = ("cases", outcome, i)
            try:
                ctx = apply_overrides(nominal, overrides)
                result = condition(ctx)
                evidence.render(ctx)
            except Exception as exc:  # noqa: BLE001
                report(path, f"case cannot be evaluated: {exc}")
                continue
            if result is not (outcome == "fires"):
                report(path, f"expected the condition to be {outcome == 'fires'}, got {result!r}")


def _compile_constraints(kb: KnowledgeBase) -> list[Problem]:
    """Compile each constraint, decide its solver stage, and run its hold/violate cases."""
    problems = []
    nominal = nominal_context()
    for c in kb.entities["constraint"].values():
        loc = kb.where[c.id]

        def report(path: tuple, message: str, _loc=loc) -> None:
            problems.append(Problem(_loc.file, line_of(_loc.lines, path), json_path(path), message, "rule"))

        before = len(problems)
        compiled = {}
        for key, text, compile_ in (("holds", c.holds, compile_condition), ("explain", c.explain, compile_template),
                                    ("need", c.relax.need if c.relax else None, compile_condition)):
            if text is None:
                continue
            try:
                compiled[key] = compile_(text)
            except RuleError as exc:
                report(("relax", "need") if key == "need" else (key,), str(exc))
        if c.relax is not None:
            field = vocabulary()["req"].get(c.relax.field.partition(".")[2])
            if field is None:
                report(("relax", "field"), f"unknown requirement field '{c.relax.field}'"
                       f"{did_you_mean(c.relax.field.partition('.')[2], vocabulary()['req'])}")
            elif (field.type == "number") != (c.relax.need is not None):
                report(("relax",), "a numeric field needs `need` (the value it must reach); other fields take none")
        if len(problems) > before:
            continue
        holds, explain = compiled["holds"], compiled["explain"]
        try:
            if holds(nominal) is not True:
                report(("holds",), "does not hold on the nominal context (a healthy project); loosen it")
        except Exception as exc:  # noqa: BLE001 - CEL raises TypeError/KeyError/RuntimeError
            report(("holds",), f"cannot be evaluated on the nominal context: {exc}")
        for outcome, cases in (("hold", c.cases.hold), ("violate", c.cases.violate)):
            for i, overrides in enumerate(cases):
                try:
                    ctx = apply_overrides(nominal, overrides)
                    result = holds(ctx)
                    explain.render(ctx)
                    if compiled.get("need"):
                        compiled["need"](ctx)
                except Exception as exc:  # noqa: BLE001 - CEL raises TypeError/KeyError/RuntimeError
                    report(("cases", outcome, i), f"case cannot be evaluated: {exc}")
                    continue
                if result is not (outcome == "hold"):
                    report(("cases", outcome, i), f"expected the condition to be {outcome == 'hold'}, got {result!r}")
        if len(problems) > before:
            continue
        reads = fields_read(c.holds)
        kb.constraints[c.id] = CompiledConstraint(c, holds, explain, compiled.get("need"), reads, stage_of(reads))
    return problems


def _check_search(kb: KnowledgeBase) -> list[Problem]:
    """Search spaces and families name catalog steps, builders and parameters, with ranges inside their limits;
    rankings name catalog terms with their parameters."""
    from advisor.kb.families import check_family, check_space
    from advisor.kb.steps import default_registry

    registry = default_registry()
    problems = []
    checks = [(s, check_space(s, registry)) for s in kb.search_spaces.values()]
    checks += [(f, check_family(f)) for f in kb.families.values()]
    from advisor.kb.ranking import check_ranking

    checks += [(r, check_ranking(r)) for r in kb.rankings.values()]
    for entity, found in checks:
        loc = kb.where[entity.id]
        problems += [Problem(loc.file, line_of(loc.lines, path), json_path(path), message, "search")
                     for path, message in found]
    return problems


def _check_recipe_steps(kb: KnowledgeBase) -> list[Problem]:
    """Every recipe step is registered, typed right, and the requires form a DAG."""
    from advisor.kb.recipes import check_recipe

    problems = []
    for recipe in kb.recipes.values():
        loc = kb.where[recipe.id]
        for path, message in check_recipe(recipe):
            problems.append(Problem(loc.file, line_of(loc.lines, path), json_path(path), message, "recipe"))
    return problems
