"""Compiled knowledge bases cached on disk, keyed by a digest of everything that shapes the loaded result.

The key hashes every knowledge and recipe file (path and bytes), every schema, the package version,
the source of the modules that load, check and hold a knowledge base, the versions of the libraries
they use, and the Python version. An entry therefore cannot be stale; only a knowledge base that
loaded without a problem is stored, so a hit also means "validated" (the validation result is a
function of the key). Entries live in ``files.cache_dir()/kb/``, are written atomically, carry a
checksum that is verified before anything is unpickled, and are rebuilt when missing, corrupt or
unreadable: the folder is safe to delete. Compiled CEL programs do not pickle; each condition is
stored as its source and compiled again on load (tens of microseconds each).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import pickle
import sys
import time
from pathlib import Path

from advisor import __version__
from advisor.files import LIMITS, atomic_write, cache_dir
from advisor.problems import display_path
from advisor.resources import KNOWLEDGE, PACKAGE, RECIPES, SCHEMAS

FORMAT = b"tinyml-advisor-kb-cache 1\n"
# Modules whose source decides what a loaded knowledge base holds (folders: every .py file in them).
SOURCES = ("kb", "rules", "__init__.py", "problems.py", "files.py", "resources.py")
# Distributions whose behaviour shapes loading: parsing, schema checks, models, the reference graph, CEL.
LIBRARIES = ("pydantic", "pydantic_core", "jsonschema", "jsonschema_specifications", "referencing", "pyyaml",
             "networkx", "common_expression_language")
KEEP = 8  # entries kept; older ones are removed when a new one is written


def entry_dir() -> Path:
    """The folder of cached knowledge bases (``<cache_dir>/kb``)."""
    return cache_dir() / "kb"


def _recipes_for(root: Path, recipes: Path | str | None) -> Path:
    # NOTE: mirrors load_kb's default: the root's sibling recipes/ folder when it exists, else the packaged one.
    if recipes is not None:
        return Path(recipes)
    sibling = root.parent / "recipes"
    return sibling if sibling.is_dir() else RECIPES


def _hash_tree(h, label: str, folder: Path, pattern: str = "*") -> bool:
    """Add every regular file under ``folder`` (relative path and bytes); False when one cannot be read."""
    h.update(f"{label}\0{folder.is_dir()}\0".encode())
    if not folder.is_dir():
        return True
    paths = sorted(folder.rglob(pattern)) if pattern == "*" else sorted(folder.glob(pattern))
    for path in paths:
        if not path.is_file():
            continue
        try:
            if path.stat().st_size > LIMITS["knowledge"]:
                return False  # load_kb rejects it; nothing to cache
            data = path.read_bytes()
        except OSError:
            return False
        h.update(str(path.relative_to(folder)).encode() + b"\0" + len(data).to_bytes(8, "little") + data)
    return True


def _library_versions() -> list[str]:
    """``name-version`` of each installed library in ``LIBRARIES``, from the dist-info folder names.

    NOTE: read from the site folder listing, not importlib.metadata, whose import alone costs ~0.1 s.
    """
    import importlib.util

    found, folders = [], set()
    for module in ("pydantic", "jsonschema", "yaml", "networkx", "cel"):
        spec = importlib.util.find_spec(module)
        if spec is not None and spec.origin:
            folders.add(Path(spec.origin).parent.parent)
    for folder in sorted(folders):
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        found += [n for n in names if n.endswith(".dist-info") and n.split("-")[0].lower() in LIBRARIES]
    return sorted(found)


def cache_key(root: Path | str = KNOWLEDGE, recipes: Path | str | None = None) -> str | None:
    """The digest a compiled copy of this knowledge base is stored under.

    Args:
        root: the knowledge-base folder.
        recipes: the recipes folder (default: as ``load_kb`` chooses it).
    Returns:
        A hex digest, or None when a file cannot be read (``load_kb`` reports it; nothing is cached).
    """
    root = Path(root)
    h = hashlib.sha256(FORMAT)
    h.update(f"{__version__}\0{sys.version}\0".encode())
    h.update("\0".join(_library_versions()).encode())
    for name in SOURCES:
        path = PACKAGE / name
        ok = _hash_tree(h, f"source:{name}", path, "*.py") if path.is_dir() else _hash_file(h, name, path)
        if not ok:
            return None
    if not (_hash_tree(h, "schemas", SCHEMAS, "*.json") and _hash_tree(h, "knowledge", root)
            and _hash_tree(h, "recipes", _recipes_for(root, recipes))):
        return None
    return h.hexdigest()


def _hash_file(h, label: str, path: Path) -> bool:
    try:
        h.update(f"{label}\0".encode() + path.read_bytes())
    except OSError:
        return False
    return True


def load_cached(root: Path | str = KNOWLEDGE, recipes: Path | str | None = None, use_cache: bool = True):
    """``load_kb(root, recipes)``, from the cache when an entry for the same key exists.

    Args:
        root: the knowledge-base folder.
        recipes: the recipes folder (default: as ``load_kb`` chooses it).
        use_cache: False loads and validates everything again (and refreshes the entry).
    Returns:
        ``(knowledge base, True when it came from the cache)``.
    Raises:
        ProblemError: the knowledge base has problems (never cached, so always reported in full).
    """
    root = Path(root)
    key = cache_key(root, recipes)
    if key is not None and use_cache:
        kb = _read(entry_dir() / f"{key}.pickle", key, root, _recipes_for(root, recipes))
        if kb is not None:
            return kb, True
    from advisor.kb.load import load_kb  # NOTE: imported only on a miss: a hit needs no YAML, schema or graph code

    kb = load_kb(root, recipes)
    # NOTE: stored only when the files did not change while they were loaded (same key before and after).
    if key is not None and cache_key(root, recipes) == key:
        _write(entry_dir(), key, kb, root, _recipes_for(root, recipes))
    return kb, False


class _Pickler(pickle.Pickler):
    """Compiled conditions are stored as their CEL source."""

    def persistent_id(self, obj):
        from advisor.rules.core import Condition

        return ("cel", obj.source) if type(obj) is Condition else None


class _Unpickler(pickle.Unpickler):
    def __init__(self, data: bytes):
        super().__init__(io.BytesIO(data))
        self.compiled: dict[str, object] = {}

    def persistent_load(self, pid):
        from advisor.rules.core import compile_condition

        kind, source = pid
        if kind != "cel":
            raise pickle.UnpicklingError(f"unknown persistent id {kind!r}")
        if source not in self.compiled:
            self.compiled[source] = compile_condition(source)
        return self.compiled[source]


def _relative(file: str, folders: dict[str, Path]) -> tuple[str, str] | None:
    """(folder tag, path inside it) of a display name, or None when it lies in neither folder."""
    absolute = Path(os.path.abspath(file))
    for tag, folder in folders.items():
        try:
            return tag, str(absolute.relative_to(os.path.abspath(folder)))
        except ValueError:
            continue
    return None


def _write(folder: Path, key: str, kb, root: Path, recipes: Path) -> None:
    """Store ``kb`` under ``key``; any failure (unpicklable, read-only, disk full) leaves no entry."""
    folders = {"recipes": recipes, "root": root}
    where = {}
    for ident, loc in kb.where.items():
        rel = _relative(loc.file, folders)
        if rel is None:
            return
        where[ident] = (*rel, loc.lines)
    state = {f.name: getattr(kb, f.name) for f in dataclasses.fields(kb)}
    state["where"] = where
    try:
        buf = io.BytesIO()
        _Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump((key, state))
        body = buf.getvalue()
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write(folder / f"{key}.pickle", FORMAT + hashlib.sha256(body).hexdigest().encode() + b"\n" + body)
        _prune(folder, keep=key)
    except Exception:  # noqa: BLE001 - the cache is an optimisation: a failure to store it is no error
        return


def _read(path: Path, key: str, root: Path, recipes: Path):
    """The knowledge base stored at ``path`` for ``key``, or None when it is missing, corrupt or another key's."""
    from advisor.kb.base import KnowledgeBase, Located

    try:
        with open(path, "rb") as f:
            blob = f.read()
    except OSError:
        return None
    head, _, rest = blob.partition(b"\n")
    checksum, _, body = rest.partition(b"\n")
    if head + b"\n" != FORMAT or hashlib.sha256(body).hexdigest().encode() != checksum:
        return None
    try:
        stored_key, state = _Unpickler(body).load()
        if stored_key != key:
            return None
        folders = {"recipes": recipes, "root": root}
        state["where"] = {ident: Located(display_path(folders[tag] / rel), lines)
                          for ident, (tag, rel, lines) in state["where"].items()}
        return KnowledgeBase(**state)
    except Exception:  # noqa: BLE001 - anything wrong with an entry means: rebuild it
        return None


def _prune(folder: Path, keep: str) -> None:
    """Keep the ``KEEP`` newest entries (and ``keep``); drop temporary files an interrupted write left."""
    entries = sorted(folder.glob("*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in entries[KEEP:]:
        if old.stem != keep:
            old.unlink(missing_ok=True)
    hour_ago = time.time() - 3600
    for part in folder.glob(".*.part"):
        if part.stat().st_mtime < hour_ago:
            part.unlink(missing_ok=True)
