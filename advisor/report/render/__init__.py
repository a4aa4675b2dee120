"""Report renderers: one small function per format, all reading the same report model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import jinja2

from advisor.resources import TEMPLATES



def _environment(html: bool) -> jinja2.Environment:
    # NOTE: Markdown has no autoescape, so every {{ expression }} passes through ``finalize``: a string from
    # a run, a questionnaire or the knowledge base can never open an HTML tag, a link or a table cell.
    from advisor.report.build import usd

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), undefined=jinja2.StrictUndefined,
                             autoescape=html, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                             finalize=None if html else _markdown_text)
    env.filters["usd"] = usd
    return env


_MARKDOWN_ESCAPES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("\\", "\\\\"), ("|", "\\|"),
                     ("[", "\\["), ("]", "\\]"))


def _markdown_text(value):
    """Text in Markdown: HTML-significant characters as entities; pipes, brackets and
    backslashes escaped; line breaks folded (a value stays inside its line, list item or table cell).
    Numbers and None pass through as they are."""
    if not isinstance(value, str):
        return value
    text = " ".join(value.splitlines())
    for old, new in _MARKDOWN_ESCAPES:
        text = text.replace(old, new)
    return text


def render_markdown(report: dict) -> str:
    return _environment(html=False).get_template("report.md.j2").render(r=report)


def render_issue(report: dict) -> str:
    """The open "to do by the team" items as a Markdown task list, one section per guideline step."""
    return _environment(html=False).get_template("report.issue.md.j2").render(r=report)


def render_html(report: dict) -> str:
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    return _environment(html=True).get_template("report.html.j2").render(r=report, css=jinja2.utils.markupsafe.Markup(css),
                                                                        svg=_svg)


def _svg(text: str):
    """Charts are SVG built by advisor.chart, which escapes every piece of user text it places."""
    return jinja2.utils.markupsafe.Markup(text)


def render_json(report: dict) -> str:
    data = {k: v for k, v in report.items() if k not in ("charts", "files")}
    return json.dumps(data, indent=2, sort_keys=False) + "\n"


RENDERERS: dict[str, tuple[str, Callable[[dict], str]]] = {
    "md": ("report.md", render_markdown),
    "html": ("report.html", render_html),
    "json": ("report.json", render_json),
    "issue": ("report-issue.md", render_issue),
}


MARKER = ".tinyml-advisor-report.json"  # sha256 of each file as this tool last wrote it


def write(report: dict, out_dir: Path, formats: list[str], force: bool = False) -> list[Path]:
    """Render every format, then write them atomically into ``out_dir``.

    A file already there is replaced only when it is exactly what this tool last wrote (its hash is in
    ``MARKER``) or ``force`` is set: an edited report is never lost.

    Raises:
        ProblemError: ``out_dir`` is a file or not writable; a report file there was edited or is not ours.
    """
    import hashlib

    from advisor.files import check_output_dir, write_output
    from advisor.problems import Problem, ProblemError, display_path

    check_output_dir(out_dir, "report folder")
    marker = out_dir / MARKER
    try:
        ours = json.loads(marker.read_text(encoding="utf-8")) if marker.is_file() else {}
    except (OSError, ValueError):
        ours = {}
    ours = ours if isinstance(ours, dict) else {}
    # NOTE: the project skeletons around a run's firmware go with the report (same overwrite protection),
    # first, so the report files are still printed last (HTML last of all).
    rendered = dict(sorted(report.get("files", {}).items())) if {"md", "html"} & set(formats) else {}
    rendered |= {RENDERERS[f][0]: RENDERERS[f][1](report) for f in formats}
    problems = []
    for name in rendered:
        path = out_dir / name
        if path.is_dir() or (path.exists() and not path.is_file()):
            problems.append(Problem(display_path(path), 0, "", "is not a regular file; cannot write the report there",
                                    "io"))
        elif path.exists() and not force and hashlib.sha256(path.read_bytes()).hexdigest() != ours.get(name):
            problems.append(Problem(display_path(path), 0, "", "exists and was not written by this tool as it is now "
                                    "(edited?)", "io", "pass --force to overwrite it, or choose another -o folder"))
    if problems:
        raise ProblemError(problems)
    written = []
    for name in rendered:
        (out_dir / name).parent.mkdir(parents=True, exist_ok=True)
    for name, text in rendered.items():
        written.append(write_output(out_dir / name, text, "report"))
        ours[name] = hashlib.sha256(text.encode("utf-8")).hexdigest()
    write_output(marker, json.dumps(ours, indent=2, sort_keys=True) + "\n", "report marker")
    return written
