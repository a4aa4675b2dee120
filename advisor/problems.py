"""The one problem type for everything a user is told, and the error that carries a list of them."""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

Path_ = tuple[object, ...]


def json_path(path: Sequence[object]) -> str:
    """Render a path of keys and indices as ``$.a.b[0].c``."""
    out = "$"
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}"
    return out


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest choice, or ``""``."""
    close = difflib.get_close_matches(str(name), sorted(set(choices)), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def check_ids(flags: Iterable[tuple[str, str | None, Iterable[str]]]) -> None:
    """Raise one usage problem per given id that is not among its known ones: ``(flag, id or None, known)``.

    Raises:
        ProblemError: ``--board: unknown id 'x' (did you mean 'y'?)`` for each unknown id.
    """
    problems = []
    for flag, ident, known in flags:
        known = set(known)
        if ident and ident not in known:
            problems.append(Problem(flag, 0, "", f"unknown id '{ident}'{did_you_mean(ident, known)}", "usage"))
    if problems:
        raise ProblemError(problems)


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the user's input.

    Ordered by file, line, path and message so output is deterministic.
    """

    file: str
    line: int
    path: str
    message: str
    code: str = field(default="invalid", compare=False)
    hint: str = field(default="", compare=False)

    def render(self) -> str:
        """``file:line: $.path message`` (line and path left out when unknown)."""
        where = self.file
        if self.line:
            where += f":{self.line}"
        text = f"{where}: "
        if self.path:
            text += f"{self.path} "
        text += self.message
        if self.hint:
            text += f" — {self.hint}"
        return text

    def as_dict(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "path": self.path, "message": self.message,
                "code": self.code, "hint": self.hint}


class ProblemError(Exception):
    """Bad input: carries every problem found, sorted and de-duplicated."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems: list[Problem] = sorted(set(problems))
        super().__init__("\n".join(p.render() for p in self.problems))


def display_path(path: Path | str, root: Path | None = None) -> str:
    """A path relative to ``root`` (or the working directory) when it lies below it.

    Symlinks are not followed: the user sees the name they gave, and a symlink loop is no error here.
    """
    p = Path(os.path.abspath(path))
    for base in (root, Path.cwd()):
        if base is None:
            continue
        try:
            return str(p.relative_to(os.path.abspath(base)))
        except ValueError:
            continue
    return str(path)
