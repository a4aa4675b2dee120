"""Compiled knowledge bases cached on disk, keyed by a digest of everything that shapes the loaded result."""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import io
import json
import os
import pickle
import stat
import sys
import time
from pathlib import Path

from advisor import __version__
from advisor.files import LIMITS, atomic_write, cache_dir
from advisor.problems import display_path
from advisor.resources import KNOWLEDGE, PACKAGE, SCHEMAS

# NOTE: the key hashes every knowledge and recipe file (path and bytes), every schema, the package version,
# the source of the modules that load, check and hold a knowledge base, the versions of the libraries they
# use, and the Python version, so an entry cannot be stale. Only a knowledge base that loaded without a
# problem is stored: a hit also means "validated" (the validation result is a function of the key). Entries
# live in files.cache_dir()/kb/, are written atomically with a checksum verified before anything is
# unpickled, and are rebuilt when missing, damaged or unreadable: the folder is safe to delete. Compiled CEL
# programs do not pickle; each condition is stored as its source and compiled again (~20 us each).
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
    from advisor.kb.base import recipes_folder  # the one rule, shared with load_kb

    return recipes_folder(root, recipes)


def _walk(folder: str, recursive: bool, seen: set, rel: str = "") -> list[tuple[str, str]] | None:
    """(relative path, full path) of every non-hidden file below ``folder``, in load_kb's order; None when an
    entry is anything load_kb would report (a FIFO, device, broken symlink, symlink loop, unreadable folder).

    NOTE: like load_kb, a symlinked folder is entered (once, by device and inode) and a symlinked file read.
    """
    try:
        info = os.stat(folder)
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return None
    if (info.st_dev, info.st_ino) in seen:
        return None
    seen.add((info.st_dev, info.st_ino))
    found: list[tuple[str, str]] = []
    for entry in entries:
        if entry.name.startswith("."):
            continue
        try:
            mode = os.stat(entry.path).st_mode
        except OSError:
            return None
        if stat.S_ISDIR(mode):
            inner = _walk(entry.path, True, seen, f"{rel}{entry.name}/") if recursive else []
            if inner is None:
                return None
            found += inner
        elif stat.S_ISREG(mode):
            found.append((f"{rel}{entry.name}", entry.path))
        else:
            return None
    return found


def _hash_tree(h, label: str, folder: Path, recursive: bool = True) -> bool:
    """Add every file under ``folder`` (relative path and bytes); False when load_kb would refuse one."""
    h.update(f"{label}\0{folder.is_dir()}\0".encode())
    if not folder.is_dir():
        return True
    files = _walk(str(folder), recursive, set())
    if files is None:
        return False
    limit = LIMITS["knowledge"]
    for rel, full in files:
        try:
            fd = os.open(full, os.O_RDONLY | os.O_NONBLOCK)  # NOTE: a FIFO swapped in never blocks
            try:
                size = os.fstat(fd).st_size
                data = os.read(fd, size + 1) if size <= limit else b""
            finally:
                os.close(fd)
        except OSError:
            return False
        if size > limit or len(data) != size:
            return False  # too big for load_kb, or changing under us: nothing to cache
        h.update(rel.encode())
        h.update(b"\0" + size.to_bytes(8, "little"))
        h.update(data)
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
        ok = _hash_tree(h, f"source:{name}", path, False) if path.is_dir() else _hash_file(h, name, path)
        if not ok:
            return None
    if not (_hash_tree(h, "schemas", SCHEMAS, False) and _hash_tree(h, "knowledge", root)
            and _hash_tree(h, "recipes", _recipes_for(root, recipes), False)):
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


def validated_summary(root: Path | str = KNOWLEDGE, recipes: Path | str | None = None) -> dict | None:
    """What ``kb validate`` reports for a knowledge base that passed under the same key, without loading it.

    Args:
        root: the knowledge-base folder.
        recipes: the recipes folder (default: as ``load_kb`` chooses it).
    Returns:
        ``{"files", "counts", "digest"}``, or None when no knowledge base with this key passed (or its record
        cannot be read).
    """
    key = cache_key(root, recipes)
    if key is None:
        return None
    try:
        data = json.loads((entry_dir() / f"{key}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("key") != key or not isinstance(data.get("files"), int) \
            or not isinstance(data.get("digest"), str) or not isinstance(data.get("counts"), dict) \
            or not all(isinstance(k, str) and isinstance(n, int) for k, n in data["counts"].items()):
        return None
    return {"files": data["files"], "counts": data["counts"], "digest": data["digest"]}


class _Pickler(pickle.Pickler):
    """Compiled conditions are stored as their CEL source, entities inside compiled rules as (kind, id)."""

    def __init__(self, file, entities: dict[str, dict]):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.refs = {id(e): (kind, ident) for kind, items in entities.items() for ident, e in items.items()}

    def persistent_id(self, obj):
        from advisor.rules.core import Condition

        if type(obj) is Condition:
            return ("cel", obj.source)
        ref = self.refs.get(id(obj))
        return ("entity", *ref) if ref else None


class _Unpickler(pickle.Unpickler):
    def __init__(self, data: bytes):
        super().__init__(io.BytesIO(data))
        self.compiled: dict[str, object] = {}
        self.entities: dict[str, dict] = {}

    def persistent_load(self, pid):
        from advisor.rules.core import compile_condition

        if pid[0] == "entity":
            return self.entities[pid[1]][pid[2]]
        if pid[0] != "cel":
            raise pickle.UnpicklingError(f"unknown persistent id {pid[0]!r}")
        if pid[1] not in self.compiled:
            self.compiled[pid[1]] = compile_condition(pid[1])
        return self.compiled[pid[1]]


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
    """Store ``kb`` under ``key``; any failure (unpicklable, read-only, disk full) leaves no entry.

    NOTE: two pickles in one file: first the key and every entity as the data it was validated from
    (``model_validate`` on it is ~10x faster than unpickling pydantic models), then the rest of the
    knowledge base, whose references to entities are resolved against the first.
    """
    folders = {"recipes": recipes, "root": root}
    where = {}
    for ident, loc in kb.where.items():
        rel = _relative(loc.file, folders)
        if rel is None:
            return
        where[ident] = (*rel, loc.lines)
    state = {f.name: getattr(kb, f.name) for f in dataclasses.fields(kb)}
    state["where"] = where
    entities = state.pop("entities")
    data = {kind: {ident: e.model_dump(by_alias=True, exclude_unset=True) for ident, e in items.items()}
            for kind, items in entities.items()}
    try:
        buf = io.BytesIO()
        pickler = _Pickler(buf, entities)
        pickler.dump((key, data))
        pickler.dump(state)
        body = buf.getvalue()
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write(folder / f"{key}.pickle", FORMAT + hashlib.sha256(body).hexdigest().encode() + b"\n" + body)
        summary = {"key": key, "files": kb.files, "counts": kb.counts(), "digest": kb.digest}
        atomic_write(folder / f"{key}.json", json.dumps(summary, indent=2) + "\n")
        _prune(folder, keep=key)
    except Exception:  # noqa: BLE001 - the cache is an optimisation: a failure to store it is no error
        return


def _read(path: Path, key: str, root: Path, recipes: Path):
    """The knowledge base stored at ``path`` for ``key``, or None when it is missing, corrupt or another key's."""
    from advisor.kb.base import KINDS, KnowledgeBase, Located

    try:
        with open(path, "rb") as f:
            blob = f.read()
    except OSError:
        return None
    head, _, rest = blob.partition(b"\n")
    checksum, _, body = rest.partition(b"\n")
    if head + b"\n" != FORMAT or hashlib.sha256(body).hexdigest().encode() != checksum:
        return None
    # NOTE: the cyclic garbage collector is paused while the entry is rebuilt: the objects made here are all
    # kept, and with 10,000 boards its repeated passes over them took 5x longer than the rebuilding itself.
    collecting = gc.isenabled()
    gc.disable()
    try:
        unpickler = _Unpickler(body)
        stored_key, data = unpickler.load()
        if stored_key != key:
            return None
        models = {kind: model for _schema, kind, model in KINDS.values()}
        unpickler.entities = {kind: {ident: models[kind].model_validate(d) for ident, d in items.items()}
                              for kind, items in data.items()}
        state = unpickler.load()
        state["where"] = _located(state["where"], {"recipes": recipes, "root": root}, Located)
        return KnowledgeBase(entities=unpickler.entities, **state)
    except Exception:  # noqa: BLE001 - anything wrong with an entry means: rebuild it
        return None
    finally:
        if collecting:
            gc.enable()


def _prefix(folder: Path) -> str | None:
    """``P`` such that ``display_path(folder / rel) == P + rel`` for every ``rel``, or None when that may not hold.

    NOTE: it holds unless the working directory lies inside ``folder``: then some files are below it (shown
    relative to it) and some are not (shown as given), and each name is worked out on its own.
    """
    here, absolute = Path.cwd(), Path(os.path.abspath(folder))
    if here == absolute or absolute in here.parents:
        return None
    if here in absolute.parents:
        return f"{absolute.relative_to(here)}/"
    return f"{folder}/"


def _located(stored: dict, folders: dict[str, Path], located) -> dict:
    """Each entity's ``Located``, its file named as ``load_kb`` names it from the working directory now."""
    prefixes = {tag: _prefix(folder) for tag, folder in folders.items()}
    out = {}
    for ident, (tag, rel, lines) in stored.items():
        prefix = prefixes[tag]
        out[ident] = located(prefix + rel if prefix is not None else display_path(folders[tag] / rel), lines)
    return out


def _prune(folder: Path, keep: str) -> None:
    """Keep the ``KEEP`` newest entries (and ``keep``) with their summaries; drop temporary files an
    interrupted write left."""
    entries = sorted(folder.glob("*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in entries[KEEP:]:
        if old.stem != keep:
            old.unlink(missing_ok=True)
            old.with_suffix(".json").unlink(missing_ok=True)
    hour_ago = time.time() - 3600
    for part in folder.glob(".*.part"):
        if part.stat().st_mtime < hour_ago:
            part.unlink(missing_ok=True)
