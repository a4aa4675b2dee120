"""``kb validate --stats``: counts per vendor, board class, core class and framework kind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from advisor.cli import app
from advisor.kb.stats import GROUPS, core_class

runner = CliRunner()


@pytest.fixture
def two_board_kb(minimal_kb: Path) -> Path:
    """The minimal fixture plus a second board from another vendor with a RISC-V core."""
    text = (minimal_kb / "boards" / "demo-board.yaml").read_text()
    text = text.replace("id: demo-board", "id: other-board").replace("vendor: Fixture Inc.", "vendor: Other Co.")
    text = text.replace("core: cortex-m4f", "core: riscv32").replace("arch: armv7e-m", "arch: riscv")
    (minimal_kb / "boards" / "other-board.yaml").write_text(text)
    return minimal_kb


def test_stats_json_counts_each_group(two_board_kb: Path):
    result = runner.invoke(app, ["kb", "validate", str(two_board_kb), "--stats", "--json"])
    assert result.exit_code == 0, result.output
    stats = json.loads(result.output)["stats"]
    assert list(stats) == list(GROUPS)
    assert stats["board vendor"] == {"Fixture Inc.": 1, "Other Co.": 1}
    assert stats["board class"] == {"mcu": 2}
    assert stats["core class"] == {"cortex-m": 1, "riscv": 1}
    assert stats["core"] == {"cortex-m4f": 1, "riscv32": 1}
    assert stats["framework kind"] == {"interpreter": 1}


def test_stats_are_the_same_from_the_cache_and_follow_the_ok_line(two_board_kb: Path):
    first = runner.invoke(app, ["kb", "validate", str(two_board_kb), "--stats", "--json"])
    again = runner.invoke(app, ["kb", "validate", str(two_board_kb), "--stats", "--json"])
    assert json.loads(again.output)["cached"] is True
    assert json.loads(again.output)["stats"] == json.loads(first.output)["stats"]
    text = runner.invoke(app, ["kb", "validate", str(two_board_kb), "--stats"]).output
    assert text.index("knowledge base OK") < text.index("board vendor") < text.index("Other Co.")
    assert text.index("core class") < text.index("riscv") and "framework kind" in text


def test_without_stats_nothing_changes(two_board_kb: Path):
    result = runner.invoke(app, ["kb", "validate", str(two_board_kb), "--json"])
    assert "stats" not in json.loads(result.output)
    assert "board vendor" not in runner.invoke(app, ["kb", "validate", str(two_board_kb)]).output


@pytest.mark.parametrize("core, family", [("cortex-m4f", "cortex-m"), ("cortex-m0plus", "cortex-m"),
                                          ("cortex-a53", "cortex-a"), ("xtensa-lx7", "xtensa"),
                                          ("riscv64", "riscv"), ("avr8", "avr"), ("arc-em9d", "arc")])
def test_core_class(core: str, family: str):
    assert core_class(core) == family


def test_every_schema_core_has_a_family():
    from advisor.resources import SCHEMAS

    cores = json.loads((Path(SCHEMAS) / "common.schema.json").read_text())["$defs"]["core"]["enum"]
    assert {core_class(c) for c in cores} == {"avr", "cortex-m", "cortex-a", "xtensa", "riscv", "arc"}
