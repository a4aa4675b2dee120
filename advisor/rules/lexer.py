"""CEL's lexical grammar, token for token: the rule checker reads an expression exactly as CEL does."""

from __future__ import annotations

import re
from typing import Any, Iterator

from advisor.rules.celpkg import cel

MACROS = {"all", "exists", "exists_one", "map", "filter"}
FUNCTIONS = {"size", "has", "int", "uint", "double", "string", "bool", "type", "dyn", "matches",
             "contains", "startsWith", "endsWith", "lowerAscii", "upperAscii", "min", "max"}
KEYWORDS = {"true", "false", "null", "in"}


class LexError(ValueError):
    """A character CEL has no token for."""


# CEL's lexical grammar (cel-spec, checked against the installed ``cel`` in tests/test_rules.py).
# NOTE: the order matters: triple quotes before single ones, floats before ints, ``//`` comments before the
# ``/`` operator. A raw string (r'..') ends at its first quote, a backslash is no escape there; bytes may
# be raw (br'..'), never rb'..'; hex is 0x only (not 0X); 1. is no float (it is 1 then a field select).
_STRING = r"""(?:
      [rR](?:'\''[\s\S]*?'\''|\"\"\"[\s\S]*?\"\"\"|'[^'\n\r]*'|"[^"\n\r]*")
    | '\''(?:\\[\s\S]|[^\\])*?'\''|\"\"\"(?:\\[\s\S]|[^\\])*?\"\"\"
    | '(?:\\[\s\S]|[^'\\\n\r])*'|"(?:\\[\s\S]|[^"\\\n\r])*")"""
_TOKEN = re.compile(rf"""
    (?P<string>[bB]?{_STRING})
  | (?P<comment>//[^\n\r]*)
  | (?P<number>\d+\.\d+(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+|0x[0-9a-fA-F]+[uU]?|\d+[uU]?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>&&|\|\||<=|>=|==|!=|[-+*/%<>!?:.,()\[\]{{}}])
  | (?P<space>[\t\n\f\r ]+)
  | (?P<bad>[\s\S])
""", re.VERBOSE)
INTEGER = re.compile(r"(?:\d+|0x[0-9a-fA-F]+)[uU]?")
# A '.' after one of these selects a field; anywhere else it starts a root-scoped name (.req).
_ENDS_OPERAND = {")", "]", "}"}


def tokens(expr: str) -> Iterator[tuple[str, str]]:
    """CEL's tokens without spaces and comments; a '.' that starts a root-scoped name (``.req``) is ``^.``."""
    prev: tuple[str, str] | None = None
    for m in _TOKEN.finditer(expr):
        kind, text = m.lastgroup, m.group()
        if kind in ("space", "comment"):
            continue
        if kind == "bad":
            raise LexError(f"unexpected character {text!r}")
        if text == "." and kind == "op" and not (prev and (prev[0] in ("ident", "number", "string")
                                                           or prev[1] in _ENDS_OPERAND)):
            text = "^."
        prev = (kind, text)
        yield prev


def scopes(toks: list[tuple[str, str]]) -> list[tuple[str, int, int]]:
    """(variable, first token, last token) of each comprehension macro (``x.exists(v, ...)``)."""
    out = []
    for i in range(len(toks) - 4):
        if toks[i] == ("op", ".") and toks[i + 1][1] in MACROS and toks[i + 2] == ("op", "(") \
                and toks[i + 3][0] == "ident" and toks[i + 4] == ("op", ","):
            depth, j = 0, i + 2
            for j in range(i + 2, len(toks)):
                depth += {"(": 1, ")": -1}.get(toks[j][1], 0) if toks[j][0] == "op" else 0
                if depth == 0:
                    break
            out.append((toks[i + 3][1], i + 3, j))
    return out


def bound(scopes: list[tuple[str, int, int]], name: str, at: int) -> tuple[str, int, int] | None:
    """The innermost scope binding ``name`` at token ``at``."""
    inner = [s for s in scopes if s[0] == name and s[1] <= at <= s[2]]
    return max(inner, key=lambda s: s[1]) if inner else None


def names(toks: list[tuple[str, str]]) -> set[str]:
    """The names an expression reads as variables (roots and comprehension variables), as CEL lists them."""
    out = set()
    for i, (kind, text) in enumerate(toks):
        prev = toks[i - 1][1] if i else ""
        nxt = toks[i + 1][1] if i + 1 < len(toks) else ""
        if kind == "ident" and prev != "." and text not in KEYWORDS and not (nxt == "(" and text in FUNCTIONS):
            out.add("." + text if prev == "^." else text)
    return out


def literal_value(text: str) -> Any:
    """The value of one literal token as CEL reads it (escapes, raw strings, hex); None when CEL refuses it."""
    try:
        return cel.evaluate(text)
    except Exception:  # noqa: BLE001 - CEL raises ValueError/RuntimeError for a bad literal
        return None
