"""The compiled knowledge-base cache: a hit is the same knowledge base, any change is a miss, a bad entry a rebuild."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from advisor.cli import app
from advisor.kb import cache
from advisor.kb.load import load_kb
from advisor.problems import ProblemError
from advisor.rules.core import nominal_context

runner = CliRunner()


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("TINYML_ADVISOR_CACHE", str(folder))
    return folder / "kb"


def same(a, b) -> None:
    """Everything a caller can read from a knowledge base is equal, compiled rules evaluated on a context."""
    assert a.entities == b.entities and a.where == b.where
    assert (a.digest, a.files, a.counts()) == (b.digest, b.files, b.counts())
    assert sorted(a.rules) == sorted(b.rules) and sorted(a.constraints) == sorted(b.constraints)
    ctx = nominal_context()
    for pid, rule in a.rules.items():
        other = b.rules[pid]
        assert (rule.pitfall, rule.condition.source, rule.evidence.source) == \
            (other.pitfall, other.condition.source, other.evidence.source)
        assert rule.condition(ctx) == other.condition(ctx) and rule.evidence.render(ctx) == other.evidence.render(ctx)
    for cid, c in a.constraints.items():
        other = b.constraints[cid]
        assert (c.constraint, c.reads, c.stage, c.holds.source) == (other.constraint, other.reads, other.stage,
                                                                   other.holds.source)
        assert c.holds(ctx) == other.holds(ctx) and c.explain.render(ctx) == other.explain.render(ctx)
        assert (c.need is None) == (other.need is None)


def test_the_shipped_kb_from_the_cache_is_the_loaded_one(private_cache: Path):
    fresh = load_kb()
    first, hit_first = cache.load_cached()
    second, hit_second = cache.load_cached()
    assert (hit_first, hit_second) == (False, True)
    assert [p.name for p in private_cache.glob("*.pickle")] == [f"{cache.cache_key()}.pickle"]
    same(fresh, first)
    same(fresh, second)


def test_a_changed_fact_changes_the_key_and_the_result(minimal_kb: Path):
    kb, _ = cache.load_cached(minimal_kb)
    board = next(iter(sorted((minimal_kb / "boards").glob("*.yaml"))))
    key = cache.cache_key(minimal_kb)
    text = board.read_text()
    assert "sram_kb: " in text
    board.write_text(text.replace("sram_kb: ", "sram_kb: 1", 1))
    assert cache.cache_key(minimal_kb) != key
    changed, hit = cache.load_cached(minimal_kb)
    assert not hit and changed.boards[board.stem].sram_kb != kb.boards[board.stem].sram_kb
    same(load_kb(minimal_kb), changed)
    board.write_text(text)  # back to the first content: the first entry serves it again
    again, hit = cache.load_cached(minimal_kb)
    assert hit and again.boards[board.stem].sram_kb == kb.boards[board.stem].sram_kb


def test_a_recipe_and_a_new_file_change_the_key(minimal_kb: Path):
    key = cache.cache_key(minimal_kb)
    recipe = next(iter((minimal_kb.parent / "recipes").glob("*.yaml")))
    recipe.write_text(recipe.read_text() + "\n")
    assert cache.cache_key(minimal_kb) != key
    key = cache.cache_key(minimal_kb)
    (minimal_kb / "boards" / "notes.txt").write_text("x")
    assert cache.cache_key(minimal_kb) != key


def test_schemas_and_source_are_in_the_key(minimal_kb: Path, tmp_path: Path, monkeypatch):
    key = cache.cache_key(minimal_kb)
    schemas = tmp_path / "schemas"
    shutil.copytree(cache.SCHEMAS, schemas)
    monkeypatch.setattr(cache, "SCHEMAS", schemas)
    assert cache.cache_key(minimal_kb) == key
    (schemas / "board.schema.json").write_text((schemas / "board.schema.json").read_text() + " ")
    assert cache.cache_key(minimal_kb) != key
    monkeypatch.undo()
    package = tmp_path / "package"
    for name in cache.SOURCES:
        copy = shutil.copytree if (cache.PACKAGE / name).is_dir() else shutil.copy
        copy(cache.PACKAGE / name, package / name if copy is shutil.copytree else package)
    monkeypatch.setattr(cache, "PACKAGE", package)
    assert cache.cache_key(minimal_kb) == key
    (package / "rules" / "core.py").write_text((package / "rules" / "core.py").read_text() + "\n# changed\n")
    assert cache.cache_key(minimal_kb) != key


@pytest.mark.parametrize("damage", ["garbage", "truncated", "flipped", "empty", "folder"])
def test_a_damaged_entry_is_ignored_and_rebuilt(minimal_kb: Path, private_cache: Path, damage: str):
    fresh, _ = cache.load_cached(minimal_kb)
    entry = private_cache / f"{cache.cache_key(minimal_kb)}.pickle"
    blob = entry.read_bytes()
    if damage == "folder":
        entry.unlink()
        entry.mkdir()
    else:
        entry.write_bytes({"garbage": b"\x80\x05not a pickle", "truncated": blob[:len(blob) // 2], "empty": b"",
                           "flipped": blob[:-10] + bytes([blob[-10] ^ 1]) + blob[-9:]}[damage])
    kb, hit = cache.load_cached(minimal_kb)
    assert not hit
    same(fresh, kb)
    if damage != "folder":
        assert entry.read_bytes() == blob  # rewritten
        assert cache.load_cached(minimal_kb)[1]


def test_an_entry_under_another_key_is_not_trusted(minimal_kb: Path, private_cache: Path, tmp_path: Path):
    shutil.copytree(minimal_kb, tmp_path / "other" / "kb")
    shutil.copytree(minimal_kb.parent / "recipes", tmp_path / "other" / "recipes")
    board = next(iter(sorted((tmp_path / "other" / "kb" / "boards").glob("*.yaml"))))
    board.write_text(board.read_text().replace("sram_kb: ", "sram_kb: 1", 1))
    cache.load_cached(minimal_kb)
    cache.load_cached(tmp_path / "other" / "kb")
    mine = private_cache / f"{cache.cache_key(minimal_kb)}.pickle"
    (private_cache / f"{cache.cache_key(tmp_path / 'other' / 'kb')}.pickle").replace(mine)  # a valid entry, wrong key
    kb, hit = cache.load_cached(minimal_kb)
    assert not hit
    same(load_kb(minimal_kb), kb)


def test_a_kb_with_problems_is_never_cached(minimal_kb: Path, private_cache: Path):
    board = next(iter(sorted((minimal_kb / "boards").glob("*.yaml"))))
    board.write_text(board.read_text() + "unknown_field: 1\n")
    for _ in range(2):
        with pytest.raises(ProblemError, match="unknown_field"):
            cache.load_cached(minimal_kb)
    assert not list(private_cache.glob("*.pickle"))


def test_file_names_are_shown_as_from_the_working_directory(minimal_kb: Path, tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cache.load_cached(Path("kb"))
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    for root in (Path("../kb"), minimal_kb, Path("..") / "kb" / "boards" / ".." / "..//kb/"):
        kb, hit = cache.load_cached(root)
        assert hit
        assert kb.where == load_kb(root).where
    monkeypatch.chdir(minimal_kb / "boards")  # inside the knowledge base: some names relative, some as given
    kb, hit = cache.load_cached(Path(".."), recipes=Path("../../recipes"))
    assert hit and kb.where == load_kb(Path(".."), recipes=Path("../../recipes")).where
    assert any(loc.file.startswith("../") for loc in kb.where.values())
    assert any("/" not in loc.file for loc in kb.where.values())


def test_an_unwritable_cache_still_loads(minimal_kb: Path, tmp_path: Path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("TINYML_ADVISOR_CACHE", str(blocker))
    for _ in range(2):
        kb, hit = cache.load_cached(minimal_kb)
        assert not hit and kb.files


def test_kb_validate_says_cached_and_no_cache_checks_again(minimal_kb: Path):
    first = runner.invoke(app, ["kb", "validate", str(minimal_kb)])
    second = runner.invoke(app, ["kb", "validate", str(minimal_kb)])
    forced = runner.invoke(app, ["kb", "validate", str(minimal_kb), "--no-cache"])
    assert [r.exit_code for r in (first, second, forced)] == [0, 0, 0]
    assert "knowledge base OK: " in first.output and "(cached)" not in first.output
    assert "knowledge base OK: " in second.output and second.output.rstrip().endswith(" s (cached)")
    assert "(cached)" not in forced.output
    as_json = runner.invoke(app, ["kb", "validate", str(minimal_kb), "--json"])
    assert '"cached": true' in as_json.output


def test_old_entries_are_pruned(minimal_kb: Path, private_cache: Path, monkeypatch):
    monkeypatch.setattr(cache, "KEEP", 2)
    board = next(iter(sorted((minimal_kb / "boards").glob("*.yaml"))))
    text = board.read_text()
    for i in range(4):
        board.write_text(text + f"# edit {i}\n")
        cache.load_cached(minimal_kb)
        os.utime(private_cache / f"{cache.cache_key(minimal_kb)}.pickle", (1000 + i, 1000 + i))
    assert len(list(private_cache.glob("*.pickle"))) == 2


def test_advise_and_report_are_the_same_from_the_cache(private_cache: Path, tmp_path: Path):
    example = str(Path(__file__).resolve().parent.parent / "examples" / "kws-battery.yaml")
    outputs = []
    for i in range(2):
        advice = runner.invoke(app, ["advise", example, "--json", "--why-not", "esp32-s3-devkitc-1"])
        report = runner.invoke(app, ["report", example, "-o", str(tmp_path / f"r{i}"), "--format", "json,md"])
        assert advice.exit_code == 0 and report.exit_code == 0, advice.output + report.output
        outputs.append((advice.output, (tmp_path / f"r{i}" / "report.json").read_text(),
                        (tmp_path / f"r{i}" / "report.md").read_text()))
        assert len(list(private_cache.glob("*.pickle"))) == 1
    assert outputs[0] == outputs[1]


def test_the_validation_summary_answers_only_for_its_key(minimal_kb: Path, private_cache: Path):
    assert cache.validated_summary(minimal_kb) is None
    kb, _ = cache.load_cached(minimal_kb)
    assert cache.validated_summary(minimal_kb) == {"files": kb.files, "counts": kb.counts(), "digest": kb.digest}
    record = private_cache / f"{cache.cache_key(minimal_kb)}.json"
    for bad in ("{", "[]", '{"key": "0", "files": 1, "counts": {}, "digest": "x"}'):
        record.write_text(bad)
        assert cache.validated_summary(minimal_kb) is None
        result = runner.invoke(app, ["kb", "validate", str(minimal_kb)])
        assert result.exit_code == 0 and result.output.rstrip().endswith("(cached)")  # from the entry itself
    board = next(iter(sorted((minimal_kb / "boards").glob("*.yaml"))))
    board.write_text(board.read_text() + "# edited\n")
    assert cache.validated_summary(minimal_kb) is None


def test_an_entry_load_kb_would_refuse_is_never_served_from_the_cache(minimal_kb: Path):
    cache.load_cached(minimal_kb)
    os.mkfifo(minimal_kb / "boards" / "pipe.yaml")
    assert cache.cache_key(minimal_kb) is None
    with pytest.raises(ProblemError, match="FIFO"):
        cache.load_cached(minimal_kb)


def test_a_symlinked_folder_is_hashed_through_the_link(minimal_kb: Path, tmp_path: Path):
    (minimal_kb / "boards").rename(tmp_path / "real-boards")
    (minimal_kb / "boards").symlink_to(tmp_path / "real-boards")
    kb, _ = cache.load_cached(minimal_kb)
    key = cache.cache_key(minimal_kb)
    board = next(iter(sorted((tmp_path / "real-boards").glob("*.yaml"))))
    board.write_text(board.read_text().replace("sram_kb: ", "sram_kb: 1", 1))
    assert cache.cache_key(minimal_kb) != key
    changed, hit = cache.load_cached(minimal_kb)
    assert not hit and changed.boards[board.stem].sram_kb != kb.boards[board.stem].sram_kb
