"""YAML loading that keeps line numbers: data plus a side map from JSON path to 1-based line."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import yaml

from advisor.files import read_text
from advisor.problems import Problem, ProblemError, display_path, json_path

LineMap = dict[tuple, int]

# libyaml's parser is ~5x faster and keeps node marks too; both build only plain data (safe).
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _walk(node: yaml.Node, path: tuple, lines: LineMap, problems: list[Problem], file: str) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: dict[object, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            line = key_node.start_mark.line + 1
            if key in seen:
                problems.append(Problem(file, line, json_path(path + (key,)),
                                        f"duplicate key '{key}' (first at line {seen[key]})", "yaml"))
            seen[key] = line
            _walk(value_node, path + (key,), lines, problems, file)
            # A key's own line is where people look; its value may start on the next one.
            lines[path + (key,)] = line
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, path + (i,), lines, problems, file)


def load_yaml_text(text: str, file: str) -> tuple[object, LineMap]:
    """Parse one YAML document safely.

    Returns:
        The data and a map from path tuples to 1-based lines.
    Raises:
        ProblemError: syntax errors, several documents, duplicate keys.
    """
    lines: LineMap = {}
    problems: list[Problem] = []
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None, {(): 1}
            _walk(node, (), lines, problems, file)
            data = loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        what = exc.problem or str(exc)
        if exc.context:
            what = f"{what} ({exc.context})"
        raise ProblemError([Problem(file, line, "", f"invalid YAML: {what}", "yaml")]) from None
    except yaml.YAMLError as exc:
        raise ProblemError([Problem(file, 0, "", f"invalid YAML: {exc}", "yaml")]) from None
    if problems:
        raise ProblemError(problems)
    return data, lines


def load_yaml_file(path: Path, root: Path | None = None, kind: str = "questionnaire",
                   what: str = "file") -> tuple[object, LineMap, str]:
    """Read (checked by ``advisor.files``: size, file type) and parse a YAML file.

    Returns:
        (data, line map, display name).
    Raises:
        ProblemError: unreadable, too big, not a regular file, not UTF-8, bad YAML.
    """
    name = display_path(path, root)
    try:
        text = read_text(path, kind, what)
    except ProblemError as exc:  # name the file as the caller displays it
        raise ProblemError([replace(p, file=name) for p in exc.problems]) from None
    data, lines = load_yaml_text(text, name)
    return data, lines, name


def line_of(lines: LineMap, path: tuple) -> int:
    """The line of the deepest known ancestor of ``path``."""
    p = tuple(path)
    while p not in lines and p:
        p = p[:-1]
    return lines.get(p, 0)
