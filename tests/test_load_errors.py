"""Broken knowledge bases: every problem reported as file:line: $.path message, all in one run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from advisor.kb.load import load_kb
from advisor.problems import ProblemError

from conftest import FIXTURES

CASES = yaml.safe_load((FIXTURES / "bad_kb_cases.yaml").read_text())


def _apply(kb: Path, case: dict) -> None:
    for rel, text in case.get("write", {}).items():
        target = kb / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if text.startswith("@copy "):
            text = (kb / text.split(" ", 1)[1]).read_text()
        target.write_text(text)
    for rel, text in case.get("append", {}).items():
        with open(kb / rel, "a") as fh:
            fh.write(text)
    for rel, pairs in case.get("replace", {}).items():
        content = (kb / rel).read_text()
        for old, new in pairs:
            assert old in content, f"fixture text {old!r} not in {rel}"
            content = content.replace(old, new)
        (kb / rel).write_text(content)


def test_minimal_fixture_is_valid():
    kb = load_kb(FIXTURES / "kb-minimal")
    assert kb.counts()["board"] == 1 and "arena-too-big" in kb.rules


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_bad_knowledge_base(minimal_kb: Path, case: dict):
    _apply(minimal_kb, case)
    with pytest.raises(ProblemError) as info:
        load_kb(minimal_kb)
    prefix = str(minimal_kb.resolve()) + "/"
    lines = [p.render().replace(prefix, "") for p in info.value.problems]
    assert len(lines) == len(case["expect"]), "\n".join(lines)
    for line, expected in zip(lines, case["expect"]):
        assert line.startswith(expected), f"{line!r} does not start with {expected!r}"


def test_recipes_next_to_the_knowledge_base_are_checked(minimal_kb: Path):
    recipes = minimal_kb.parent / "recipes"
    steps = "steps:\n  - {id: load, uses: load-model}\n  - {id: convert, uses: convert, requires: [load]}\n"
    (recipes / "fancy.yaml").write_text("id: fancy\nname: fancy\ndescription: d\n"
                                        "techniques: [demo-ptq, demo-qat]\nquantization: int4\n" + steps)
    (recipes / "ok.yaml").write_text("id: ok\nname: ok\ndescription: d\ntechniques: [demo-ptq]\n"
                                     "quantization: int8\n" + steps)

    def problems() -> list[str]:
        with pytest.raises(ProblemError) as info:
            load_kb(minimal_kb)
        return [p.render().replace(str(recipes.resolve()) + "/", "") for p in info.value.problems]

    lines = problems()
    assert len(lines) == 1 and lines[0].startswith("fancy.yaml:5: $.quantization 'int4' is not allowed"), lines
    (recipes / "fancy.yaml").write_text("id: fancy\nname: fancy\ndescription: d\n"
                                        "techniques: [demo-ptq, demo-qat]\nquantization: int8\n" + steps)
    assert problems() == ["fancy.yaml:4: $.techniques[1] unknown technique 'demo-qat': no technique with this id "
                          "(did you mean 'demo-ptq'?)"]
    (recipes / "fancy.yaml").write_text(
        "id: fancy\nname: fancy\ndescription: d\ntechniques: [demo-ptq]\nquantization: int8\nsteps:\n"
        "  - {id: load, uses: load-modl, requires: [export]}\n"
        "  - {id: prune, uses: prune, with: {target_sparsity: 2.0, epoch: 3}, requires: [load]}\n"
        "  - {id: export, uses: export-c, requires: [prune, tflm]}\n")
    lines = problems()
    assert lines[0].startswith("fancy.yaml:7: $.steps[0].uses unknown step 'load-modl' (did you mean "
                               "'load-model'?)"), lines
    assert any("$.steps[1].with.epoch unknown parameter 'epoch' (did you mean 'epochs'?)" in x for x in lines)
    assert any("$.steps[1].with.target_sparsity 2.0 is above the maximum 0.95" in x for x in lines)
    assert any("$.steps[2].requires[1] no step 'tflm' in this recipe" in x for x in lines)
    assert any("steps require each other: export -> load -> prune -> export" in x for x in lines), lines
    (recipes / "fancy.yaml").unlink()
    assert set(load_kb(minimal_kb).recipes) == {"ok", "demo-int8"}


def test_a_knowledge_base_without_recipes_uses_the_packaged_ones(tmp_path: Path):
    from advisor.resources import KNOWLEDGE, RECIPES
    shutil.copytree(KNOWLEDGE, tmp_path / "knowledge")
    kb = load_kb(tmp_path / "knowledge")
    assert set(kb.recipes) == {p.stem for p in RECIPES.glob("*.yaml")} and len(kb.recipes) >= 9


def test_step_order_follows_requires_then_file_order():
    from advisor.kb.recipes import step_order
    kb = load_kb()
    order = [s.id for s in step_order(kb.recipes["prune-cluster-qat-int8"])]
    assert order == ["load", "prune", "cluster", "qat", "convert", "evaluate", "tflm", "export"]


def test_special_files_in_a_knowledge_base_are_one_problem_each(minimal_kb: Path):
    import os
    import time
    os.mkfifo(minimal_kb / "boards" / "pipe.yaml")  # reading it would block forever
    os.symlink(minimal_kb / "boards" / "loop.yaml", minimal_kb / "boards" / "loop.yaml")
    os.symlink(minimal_kb, minimal_kb / "tools" / "up")  # a folder that contains itself
    os.symlink("/dev/zero", minimal_kb / "tools" / "zero.yaml")
    (minimal_kb / "tools" / "big.yaml").write_text("# padding\n" * 120_000)
    start = time.perf_counter()
    with pytest.raises(ProblemError) as info:
        load_kb(minimal_kb)
    assert time.perf_counter() - start < 10
    prefix = str(minimal_kb) + "/"
    lines = [p.render().replace(prefix, "") for p in info.value.problems]
    assert lines == ["boards/loop.yaml: cannot read the knowledge-base file: is a symlink loop",
                     "boards/pipe.yaml: is a FIFO, expected a knowledge-base file",
                     "tools/big.yaml: is 1.1 MiB; a knowledge-base file may be at most 1 MiB",
                     "tools/up: is a symlink loop (a folder that contains itself)",
                     "tools/zero.yaml: is a device, expected a knowledge-base file"], lines


def test_a_knowledge_base_root_that_is_not_a_folder(tmp_path: Path):
    (tmp_path / "kb.yaml").write_text("id: x\n")
    for path, message in ((tmp_path / "kb.yaml", "is not a folder, expected a knowledge-base folder"),
                          (tmp_path / "nope", "no such knowledge-base folder")):
        with pytest.raises(ProblemError, match=message):
            load_kb(path)
