"""YAML and JSON loading that keeps line numbers: data plus a side map from JSON path to 1-based line."""

from __future__ import annotations

import json
import math
import re
import sys
from dataclasses import replace
from pathlib import Path

import yaml

from advisor.files import read_text
from advisor.problems import Problem, ProblemError, display_path, json_path

LineMap = dict[tuple, int]

# libyaml's parser is ~5x faster and keeps node marks too; both build only plain data (safe).
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# NOTE: generous for real files: the biggest shipped file (an operator set) has ~760 values and is
# 6 levels deep; a questionnaire has under 100 values. A file past either limit is an alias bomb
# (a few hundred bytes that expand to billions of values) or a nesting attack, refused before it is
# expanded, walked or validated.
MAX_NODES = 100_000
MAX_DEPTH = 50
MAX_DIGITS = 400  # an integer longer than this is past any double (1.8e308); refused before converting it
EXCERPT = 60
_TAG = "tag:yaml.org,2002:"
_COLLECTION_START = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
_COLLECTION_END = (yaml.SequenceEndEvent, yaml.MappingEndEvent)


def excerpt(value: object, limit: int = EXCERPT) -> str:
    """``repr(value)`` cut to about ``limit`` characters, so a message never quotes a huge value."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def describe_type(data: object) -> str:
    """How to name what a file holds when it is not the mapping expected (``list``, or an empty file)."""
    return "nothing (the file is empty)" if data is None else type(data).__name__


def _shape_problem(file: str, line: int, message: str) -> ProblemError:
    return ProblemError([Problem(file, line, "$", message, "yaml")])


def _check_shape(text: str, file: str) -> None:
    """Refuse deep nesting and alias bombs from the event stream, before anything is composed.

    NOTE: each node's expanded size is counted when it closes (an alias counts the size of its
    anchor), so a bomb is refused after reading its few hundred bytes, without expanding it.

    Raises:
        ProblemError: nesting past MAX_DEPTH, more than MAX_NODES values once aliases are expanded,
            an alias inside the node it names.
    """
    loader = _Loader(text)
    sizes: dict[str, int] = {}
    stack: list[list] = []  # [expanded size, anchor] per open collection
    aliases = False

    def close(size: int, anchor: str | None, line: int) -> None:
        if size > MAX_NODES:
            what = "once its aliases are expanded (an alias bomb?)" if aliases else "(too many values)"
            raise _shape_problem(file, line, f"holds more than {MAX_NODES} values {what}")
        if anchor is not None:
            sizes[anchor] = size
        if stack:
            stack[-1][0] += size

    try:
        while loader.check_event():
            event = loader.get_event()
            line = event.start_mark.line + 1 if event.start_mark else 0
            if isinstance(event, _COLLECTION_START):
                stack.append([1, event.anchor])
                if len(stack) > MAX_DEPTH:
                    raise _shape_problem(file, line, f"nested more than {MAX_DEPTH} levels deep (level "
                                                     f"{len(stack)} starts here)")
            elif isinstance(event, _COLLECTION_END):
                size, anchor = stack.pop()
                close(size, anchor, line)
            elif isinstance(event, yaml.ScalarEvent):
                close(1, event.anchor, line)
            elif isinstance(event, yaml.AliasEvent):
                aliases = True
                if event.anchor in {a for _s, a in stack}:
                    raise _shape_problem(file, line, f"alias *{event.anchor} is inside the node it names "
                                                     "(a recursive alias)")
                close(sizes.get(event.anchor, 1), None, line)  # an unknown anchor: the composer says so
    except yaml.YAMLError:
        pass  # syntax errors are reported by the real parse, with its message
    finally:
        loader.dispose()


def _check_scalar(loader, node: yaml.ScalarNode, path: tuple, problems: list[Problem], file: str) -> None:
    """Typed scalars that would not construct, or construct to NaN / infinity, are problems at their line."""
    kind = node.tag[len(_TAG):] if node.tag.startswith(_TAG) else ""
    if kind not in ("int", "float", "timestamp"):
        return
    line = node.start_mark.line + 1
    if kind == "int" and len(node.value) > MAX_DIGITS:
        problems.append(Problem(file, line, json_path(path), f"number with {len(node.value)} digits is out of "
                                "range", "schema"))
        return
    try:
        value = loader.yaml_constructors[node.tag](loader, node)
    except (ValueError, OverflowError, yaml.YAMLError) as exc:
        problems.append(Problem(file, line, json_path(path), f"{excerpt(node.value)} is not a valid {kind}: "
                                f"{str(exc).splitlines()[0][:EXCERPT]}", "schema"))
        return
    problem = _number_problem(value, file, line, path)
    if problem:
        problems.append(problem)


def _number_problem(value: object, file: str, line: int, path: tuple) -> Problem | None:
    """NaN, infinity, or an integer no double can hold, as a problem; None for anything else."""
    if isinstance(value, float) and not math.isfinite(value):
        return Problem(file, line, json_path(path), f"{value} is not a finite number", "schema",
                       "NaN and infinity are not allowed; write a plain number")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > sys.float_info.max:
        return Problem(file, line, json_path(path), f"number {excerpt(value)} is out of range", "schema")
    return None


def _walk(loader, node: yaml.Node, path: tuple, lines: LineMap, problems: list[Problem], file: str) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: dict[object, int] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != _TAG + "str":
                shown = excerpt(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "a list or mapping"
                problems.append(Problem(file, line, json_path(path), f"key {shown} is not a name",
                                        "yaml", "keys are field names; quote a key meant as text"))
                continue
            key = key_node.value
            if key in seen:
                problems.append(Problem(file, line, json_path(path + (key,)),
                                        f"duplicate key '{excerpt(key)[1:-1]}' (first at line {seen[key]})", "yaml"))
            seen[key] = line
            _walk(loader, value_node, path + (key,), lines, problems, file)
            # A key's own line is where people look; its value may start on the next one.
            lines[path + (key,)] = line
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(loader, item, path + (i,), lines, problems, file)
    else:
        _check_scalar(loader, node, path, problems, file)


def _yaml_problem(exc: yaml.MarkedYAMLError, file: str, text: str) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else 0
    what = exc.problem or str(exc)
    hint = ""
    if exc.context:
        what = f"{what} ({exc.context})"
    if "another document" in what:
        what, hint = "several YAML documents in one file", "a file holds one document: remove the '---' lines"
    elif mark and "\t" in (text.splitlines()[mark.line:mark.line + 1] or [""])[0]:
        hint = "YAML indents with spaces, not tabs"
    return Problem(file, line, "", f"invalid YAML: {what}", "yaml", hint)


def load_yaml_text(text: str, file: str) -> tuple[object, LineMap]:
    """Parse one YAML document safely.

    Returns:
        The data and a map from path tuples to 1-based lines.
    Raises:
        ProblemError: syntax errors, several documents, duplicate or non-text keys, nesting or alias
            expansion past the limits, numbers that are NaN, infinite or out of range.
    """
    _check_shape(text, file)
    lines: LineMap = {}
    problems: list[Problem] = []
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None, {(): 1}
            _walk(loader, node, (), lines, problems, file)
            data = None if problems else loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        raise ProblemError([_yaml_problem(exc, file, text)]) from None
    except yaml.YAMLError as exc:
        raise ProblemError([Problem(file, 0, "", f"invalid YAML: {exc}", "yaml")]) from None
    if problems:
        raise ProblemError(problems)
    return data, lines


_JSON_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|[{}\[\]:,]|\s+|[^\s{}\[\]:,"]+|.')


def _json_marks(text: str, file: str) -> tuple[LineMap, list[Problem]]:
    """Line marks, duplicate keys and nesting depth of JSON text, from a small non-recursive scan.

    NOTE: the scan trusts the text to be JSON; where it is not, it stops quietly and the json
    module reports the syntax error with its own line and column.
    """
    lines: LineMap = {(): 1}
    problems: list[Problem] = []
    stack: list[dict] = []  # {"path", "obj", "key", "index", "seen", "want_key"}
    line = 1
    for m in _JSON_TOKEN.finditer(text):
        tok = m.group()
        if tok.isspace():
            line += tok.count("\n")
            continue
        top = stack[-1] if stack else None
        if top and top["obj"] and top["want_key"] and tok.startswith('"'):
            try:
                key = json.loads(tok)
            except ValueError:
                break
            if key in top["seen"]:
                problems.append(Problem(file, line, json_path(top["path"] + (key,)),
                                        f"duplicate key '{excerpt(key)[1:-1]}' (first at line {top['seen'][key]})",
                                        "yaml"))
            top["seen"][key], top["key"], top["want_key"] = line, key, False
            lines[top["path"] + (key,)] = line
        elif tok == "," and top:
            top["want_key"] = top["obj"]
            top["index"] += not top["obj"]
        elif tok in ("}", "]") and top:
            stack.pop()
        elif tok != ":":
            path = () if top is None else top["path"] + ((top["key"],) if top["obj"] else (top["index"],))
            if top is not None and not top["obj"]:
                lines[path] = line
            if tok in ("{", "["):
                stack.append({"path": path, "obj": tok == "{", "key": None, "index": 0, "seen": {},
                              "want_key": tok == "{"})
                if len(stack) > MAX_DEPTH:
                    problems.append(Problem(file, line, "$", f"nested more than {MAX_DEPTH} levels deep "
                                            f"(level {len(stack)} starts here)", "yaml"))
                    break
    return lines, problems


def _json_numbers(data: object, path: tuple, lines: LineMap, file: str, out: list[Problem]) -> None:
    """NaN, Infinity and numbers past a double's range (``1e999``) anywhere in parsed JSON."""
    if isinstance(data, dict):
        for key, value in data.items():
            _json_numbers(value, path + (key,), lines, file, out)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            _json_numbers(value, path + (i,), lines, file, out)
    else:
        problem = _number_problem(data, file, line_of(lines, path), path)
        if problem:
            out.append(problem)


def _json_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        return math.inf  # reported with its path by _json_numbers
    return int(text)


def load_json_text(text: str, file: str) -> tuple[object, LineMap]:
    """Parse JSON text (the json module, not the YAML 1.1 resolver) with line marks.

    Returns:
        The data and a map from path tuples to 1-based lines.
    Raises:
        ProblemError: syntax errors, duplicate keys, nesting past MAX_DEPTH, NaN, infinity or numbers
            past a double's range.
    """
    lines, problems = _json_marks(text, file)
    if problems:
        raise ProblemError(problems)
    if not text.strip():
        return None, {(): 1}
    try:
        data = json.loads(text, parse_int=_json_int, parse_constant=float)
    except json.JSONDecodeError as exc:
        raise ProblemError([Problem(file, exc.lineno, "", f"invalid JSON: {exc.msg} (column {exc.colno})",
                                    "yaml")]) from None
    except (ValueError, RecursionError) as exc:
        raise ProblemError([Problem(file, 0, "", f"invalid JSON: {str(exc)[:EXCERPT]}", "yaml")]) from None
    _json_numbers(data, (), lines, file, problems)
    if problems:
        raise ProblemError(problems)
    return data, lines


def load_yaml_file(path: Path, root: Path | None = None, kind: str = "questionnaire",
                   what: str = "file") -> tuple[object, LineMap, str]:
    """Read (checked by ``advisor.files``: size, file type) and parse a YAML file, or JSON when it ends in ``.json``.

    Returns:
        (data, line map, display name).
    Raises:
        ProblemError: unreadable, too big, not a regular file, not UTF-8, bad YAML or JSON.
    """
    name = display_path(path, root)
    try:
        text = read_text(path, kind, what)
    except ProblemError as exc:  # name the file as the caller displays it
        raise ProblemError([replace(p, file=name) for p in exc.problems]) from None
    load = load_json_text if Path(path).suffix.lower() == ".json" else load_yaml_text
    data, lines = load(text, name)
    return data, lines, name


def line_of(lines: LineMap, path: tuple) -> int:
    """The line of the deepest known ancestor of ``path``."""
    p = tuple(path)
    while p not in lines and p:
        p = p[:-1]
    return lines.get(p, 0)
