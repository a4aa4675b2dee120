"""Report renderers: one small function per format, all reading the same report model.

Templates live in reports/templates/; Jinja2 runs with StrictUndefined (a missing value is an
error, not an empty string) and, for HTML, autoescaping.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import jinja2

from advisor.resources import TEMPLATES



def _environment(html: bool) -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), undefined=jinja2.StrictUndefined,
                             autoescape=html, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["md"] = _markdown_text
    return env


def _markdown_text(value) -> str:
    """User text in Markdown: HTML-significant characters escaped, table pipes too."""
    text = str(value)
    for old, new in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("|", "\\|")):
        text = text.replace(old, new)
    return text


def render_markdown(report: dict) -> str:
    return _environment(html=False).get_template("report.md.j2").render(r=report)


def render_html(report: dict) -> str:
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    return _environment(html=True).get_template("report.html.j2").render(r=report, css=jinja2.utils.markupsafe.Markup(css),
                                                                        svg=_svg)


def _svg(text: str):
    """Charts are SVG built by advisor.chart, which escapes every piece of user text it places."""
    return jinja2.utils.markupsafe.Markup(text)


def render_json(report: dict) -> str:
    data = {k: v for k, v in report.items() if k != "charts"}
    return json.dumps(data, indent=2, sort_keys=False) + "\n"


RENDERERS: dict[str, tuple[str, Callable[[dict], str]]] = {
    "md": ("report.md", render_markdown),
    "html": ("report.html", render_html),
    "json": ("report.json", render_json),
}


def write(report: dict, out_dir: Path, formats: list[str]) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        name, render = RENDERERS[fmt]
        path = out_dir / name
        path.write_text(render(report), encoding="utf-8")
        written.append(path)
    return written
