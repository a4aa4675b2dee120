"""Safe rule conditions: CEL expressions over a closed, typed vocabulary, checked when loaded.

CEL is parsed and compiled by the ``cel`` package; it is never Python ``eval``. Before compiling,
a small lexer walks the expression and checks every ``root.field`` it reads against the rule
context schema (``schemas/rule-context.schema.json``), so a misspelt field is a load-time error
and not a condition that silently never fires.
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from advisor.rules.celpkg import cel

from advisor.problems import Problem, ProblemError, did_you_mean
from advisor.resources import schema_json as schema
from advisor.rules.lexer import (FUNCTIONS, INTEGER, KEYWORDS, MACROS, LexError, bound, literal_value, names, scopes,
                                 tokens)

COMPARISONS = {"<", "<=", ">", ">=", "==", "!="}

class RuleError(ValueError):
    """A condition that does not parse, reads an unknown field, or mixes numeric types."""


@dataclass(frozen=True)
class Field:
    root: str
    name: str
    type: str  # number | string | boolean | array
    enum: frozenset | None = None  # allowed values (of the items, for arrays)


@lru_cache(maxsize=1)
def vocabulary() -> dict[str, dict[str, Field]]:
    """The rule context's roots and fields, from the rule context schema."""
    spec = schema("rule-context")
    def enum(f: dict) -> frozenset | None:
        values = f.get("enum", f.get("items", {}).get("enum"))
        return frozenset(values) if values is not None else None

    return {root: {name: Field(root, name, f["type"], enum(f)) for name, f in body["properties"].items()}
            for root, body in spec["properties"].items()}


@lru_cache(maxsize=1)
def _nominal() -> dict[str, dict[str, Any]]:
    spec = schema("rule-context")
    return {root: {name: f["default"] for name, f in body["properties"].items()}
            for root, body in spec["properties"].items()}


def nominal_context() -> dict[str, dict[str, Any]]:
    """A fresh copy of the nominal context: a healthy project on which no pitfall fires."""
    return copy.deepcopy(_nominal())


def check_names(expr: str) -> list[str]:
    """Every unknown name or field, and integer literals that would meet doubles; [] when clean."""
    vocab = vocabulary()
    try:
        toks = list(tokens(expr))
    except LexError as exc:
        return [str(exc)]
    macro_scopes = scopes(toks)
    errors = [f"comprehension variable '{name}' hides the root '{name}'; name it something else"
              for name, _s, _e in macro_scopes if name in vocab]
    for i, (kind, text) in enumerate(toks):
        prev = toks[i - 1][1] if i else ""
        nxt = toks[i + 1][1] if i + 1 < len(toks) else ""
        if kind == "ident" and prev != ".":
            if prev == "^.":
                errors.append(f"'.{text}': a leading dot is not allowed here, write {text}")
                continue
            if text in KEYWORDS or bound(macro_scopes, text, i) or (nxt == "(" and text in FUNCTIONS):
                continue
            bound_names = sorted({name for name, _s, _e in macro_scopes})
            if text in bound_names:
                errors.append(f"'{text}' is used outside the comprehension that defines it")
                continue
            if text not in vocab:
                errors.append(f"unknown name '{text}'{did_you_mean(text, list(vocab) + bound_names)}"
                              f" (conditions read {', '.join(vocab)})")
                continue
            if nxt != "." or i + 2 >= len(toks) or toks[i + 2][0] != "ident":
                errors.append(f"'{text}' must be followed by a field, like {text}.{next(iter(vocab[text]))}")
                continue
            field = toks[i + 2][1]
            if field not in vocab[text]:
                errors.append(f"unknown field '{text}.{field}'{did_you_mean(field, vocab[text])}")
            elif i + 3 < len(toks) and toks[i + 3][1] == "." and not (i + 5 < len(toks) and toks[i + 5][1] == "("):
                errors.append(f"'{text}.{field}' has no sub-fields")
        elif kind == "number" and INTEGER.fullmatch(text):
            after_size = prev in COMPARISONS and i >= 2 and toks[i - 2][1] == ")"
            before_size = nxt in COMPARISONS and i + 2 < len(toks) and toks[i + 2][1] == "size"
            if not (after_size or before_size or prev == "["):
                errors.append(f"integer literal {text}: numbers in the rule context are doubles, write "
                              f"{literal_value(text)}.0")
    if not errors:
        errors += _check_literals(toks, vocab)
    return errors


def _references(toks: list[tuple[str, str]], vocab) -> list[tuple[int, int, Field, bool]]:
    """(first token, last token, field, is-a-single-item) for each field read and comprehension variable."""
    refs: list[tuple[int, int, Field, bool]] = []
    macro_scopes = scopes(toks)
    scope_field: dict[int, Field] = {}  # scope start -> the field its variable iterates
    for i, (kind, text) in enumerate(toks):
        prev = toks[i - 1][1] if i else ""
        if kind != "ident" or prev in (".", "^."):
            continue
        scope = bound(macro_scopes, text, i)
        if scope is not None:
            if scope[1] in scope_field and i != scope[1]:
                refs.append((i, i, scope_field[scope[1]], True))
        elif text in vocab and i + 2 < len(toks) and toks[i + 1][1] == "." and toks[i + 2][1] in vocab[text]:
            field = vocab[text][toks[i + 2][1]]
            refs.append((i, i + 2, field, False))
            if i + 6 < len(toks) and toks[i + 3][1] == "." and toks[i + 4][1] in MACROS and toks[i + 5][1] == "(":
                scope_field[i + 6] = field
    return refs


def _check_literals(toks: list[tuple[str, str]], vocab) -> list[str]:
    """String literals compared with a closed-vocabulary field must be among its values."""
    errors = []

    def check(j: int, field: Field) -> None:
        kind, text = toks[j]
        value = literal_value(text) if kind == "string" else None
        if isinstance(value, str) and value not in field.enum:
            errors.append(f"'{value}' can never match {field.root}.{field.name}"
                          f"{did_you_mean(value, field.enum)} (allowed: {', '.join(sorted(field.enum))})")

    for start, end, field, item in _references(toks, vocab):
        if field.enum is None:
            continue
        single = item or field.type != "array"
        after = toks[end + 1][1] if end + 1 < len(toks) else ""
        before = toks[start - 1][1] if start else ""
        if after in ("==", "!=") and end + 2 < len(toks) and single:
            check(end + 2, field)
        if before in ("==", "!=") and start >= 2 and single:
            check(start - 2, field)
        if before == "in" and start >= 2 and not single:
            check(start - 2, field)
        if after == "in" and single and end + 2 < len(toks) and toks[end + 2][1] == "[":
            j = end + 3
            while j < len(toks) and toks[j][1] != "]":
                if toks[j][0] == "string":
                    check(j, field)
                j += 1
    return errors


@dataclass(frozen=True)
class Condition:
    """A checked, compiled CEL expression."""

    source: str
    program: Any

    def __call__(self, context: dict) -> Any:
        """The value of the expression in ``context``.

        Raises:
            EvaluationError: CEL could not evaluate it (division by zero, a type mismatch, a missing key).
        """
        try:
            return self.program.execute(context)
        except Exception as exc:  # noqa: BLE001 - CEL raises ZeroDivisionError, TypeError, KeyError, RuntimeError...
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise EvaluationError(f"{first[:120]} ({type(exc).__name__})") from None


class EvaluationError(RuleError):
    """A condition or template that CEL could not evaluate in a given context."""


def compile_condition(expr: str) -> Condition:
    """Check names, then compile.

    Raises:
        RuleError: every problem in one message; also when the checker and CEL disagree on the names
            the expression reads (the check would not be about what CEL runs).
    """
    errors = check_names(expr)
    if errors:
        raise RuleError("; ".join(errors))
    try:
        program = cel.compile(expr)
    except ValueError as exc:
        text = " ".join(line.strip() for line in str(exc).splitlines()[:2])
        raise RuleError(text.split(" expecting {")[0]) from None
    # NOTE: a second opinion from CEL's own parser: the names it reads must be the ones the checker saw.
    mine, cels = names(list(tokens(expr))), set(program.variables())
    if mine != cels:
        raise RuleError(f"the rule checker and CEL read this expression differently (CEL reads "
                        f"{', '.join(sorted(cels)) or 'no names'}, the checker {', '.join(sorted(mine)) or 'none'}); "
                        "simplify its string literals and comments")
    return Condition(expr, program)


def evaluation_problem(kind: str, rule_id: str, key: str, exc: RuleError, located: Any = None) -> ProblemError:
    """A rule that failed to evaluate during a solve, as bad input naming its file.

    Args:
        kind: ``constraint`` or ``pitfall`` (the folder is its plural).
        rule_id: the rule's id (its file's stem).
        key: the field holding the expression (``holds``, ``condition``, ``evidence``...).
        exc: the evaluation error.
        located: the rule's ``Located`` (file and line map) when the caller has it.
    Returns:
        A ProblemError to raise.
    """
    file, line = f"{kind}s/{rule_id}.yaml", 0
    if located is not None:
        file, line = located.file, located.lines.get((key,), located.lines.get((), 0))
    return ProblemError([Problem(file, line, f"$.{key}", f"{kind} '{rule_id}' cannot be evaluated for this "
                                 f"project: {exc}", "rule", "a rule must give a value for every project; guard "
                                 "the expression (e.g. check a divisor is not 0 first)")])


_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


@dataclass(frozen=True)
class Template:
    """Text with ``{CEL expression}`` placeholders, each compiled and checked."""

    source: str
    parts: tuple[Condition, ...]

    def render(self, context: dict) -> str:
        """The text with each placeholder's value.

        Raises:
            EvaluationError: a placeholder could not be evaluated, or is NaN or infinite.
        """
        values = []
        narrow = _narrow(context, self.source, self.parts)
        for part in self.parts:
            value = part(narrow)
            if isinstance(value, float) and not math.isfinite(value):
                raise EvaluationError(f"{{{part.source}}} is {value} (a division by zero?)")
            values.append(format_value(value))
        it = iter(values)
        return _PLACEHOLDER.sub(lambda _m: next(it), self.source)


_TEMPLATE_READS: dict[str, frozenset] = {}


def _narrow(context: dict, source: str, parts: tuple[Condition, ...]) -> dict:
    """``context`` cut down to the fields the template reads (CEL converts only those: ~8x faster for reports).

    NOTE: a root the context lacks is left out, so CEL reports the same missing key it would on the full context.
    """
    reads = _TEMPLATE_READS.get(source)
    if reads is None:
        reads = _TEMPLATE_READS[source] = frozenset().union(*(fields_read(p.source) for p in parts))
    out: dict[str, dict] = {}
    for root, name in reads:
        branch = context.get(root)
        if isinstance(branch, dict) and name in branch:
            out.setdefault(root, {})[name] = branch[name]
    return out


def compile_template(text: str) -> Template:
    parts = []
    errors = []
    for m in _PLACEHOLDER.finditer(text):
        try:
            parts.append(compile_condition(m.group(1)))
        except RuleError as exc:
            errors.append(f"{{{m.group(1)}}}: {exc}")
    if errors:
        raise RuleError("; ".join(errors))
    return Template(text, tuple(parts))


def format_value(value: Any) -> str:
    """Numbers as people write them (212, 0.35, 1.2e+06), lists comma-separated."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e7:
            return str(int(value))
        if abs(value) >= 100:
            return f"{value:.0f}"
        return f"{value:.3g}" if abs(value) < 1 else f"{value:.1f}"
    if isinstance(value, (list, tuple)):
        return ", ".join(format_value(v) for v in value) or "none"
    return str(value)


def apply_overrides(context: dict, overrides: dict) -> dict:
    """Return a copy of ``context`` with ``{"root.field": value}`` overrides applied and type-checked.

    Raises:
        RuleError: unknown path, or a value of the wrong type (ints are not doubles).
    """
    vocab = vocabulary()
    # NOTE: a shallow copy per root is enough: overrides replace values, they never mutate them.
    ctx = {root: dict(fields) for root, fields in context.items()}
    for key, value in overrides.items():
        root, _, name = str(key).partition(".")
        field = vocab.get(root, {}).get(name)
        if field is None:
            raise RuleError(f"unknown context field '{key}'")
        ok = {"number": isinstance(value, float), "string": isinstance(value, str),
              "boolean": isinstance(value, bool),
              "array": isinstance(value, list) and all(isinstance(v, str) for v in value)}[field.type]
        if not ok:
            want = "a double like 100.0" if field.type == "number" else f"a {field.type}"
            raise RuleError(f"'{key}' must be {want}, got {value!r}")
        ctx[root][name] = value
    return ctx


def fields_read(expr: str) -> frozenset[tuple[str, str]]:
    """The (root, field) pairs an expression reads; call after check_names passed."""
    toks = list(tokens(expr))
    return frozenset((f.root, f.name) for _s, _e, f, item in _references(toks, vocabulary()) if not item)


# Roots that stay the same for a whole solve: the requirements and the model.
CONSTANT_ROOTS = frozenset({"req", "model"})
STAGES = ("board", "fw", "recipe", "board-fw", "fw-recipe", "board-recipe", "candidate")


def project(context: dict, reads) -> dict:
    """Only the (root, field) pairs ``reads`` of ``context``: CEL converts less, so it evaluates faster."""
    out: dict[str, dict] = {}
    for root, name in reads:
        out.setdefault(root, {})[name] = context[root][name]
    return out


def stage_of(reads: frozenset[tuple[str, str]]) -> str:
    """The earliest solver stage at which a condition reading ``reads`` can be decided."""
    roots = {root for root, _ in reads} - CONSTANT_ROOTS
    if "est" in roots or len(roots) == 3:
        return "candidate"
    if not roots:
        return "board"  # reads only constants: decided once, checked with the boards
    order = ("board", "fw", "recipe")
    return "-".join(r for r in order if r in roots)
