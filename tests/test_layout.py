"""The package layout keeps the architecture: stage subpackages, no import cycles, no upward imports."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

PACKAGE = Path(__file__).resolve().parent.parent / "advisor"

# Each stage may import only stages below it (and itself). NOTE: a stage's rank is its place in the data
# flow of docs/architecture.md; profile sits below solve because solve reads the model basis profile builds.
LAYERS = ["advisor.problems", "advisor.files", "advisor.resources", "advisor.rules", "advisor.kb", "advisor.questionnaire",
          "advisor.perf", "advisor.profile", "advisor.solve", "advisor.run", "advisor.search", "advisor.report",
          "advisor.console", "advisor.cli", "advisor.__main__"]
FOUNDATION = {"advisor"}  # the package __init__ (version only)


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every advisor module this file imports, at module level or inside functions."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import (use absolute advisor.* imports)"
            if node.module and node.module.split(".")[0] == "advisor":
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "advisor"}
    return found


def _graph() -> nx.DiGraph:
    graph = nx.DiGraph()
    for path in sorted(PACKAGE.rglob("*.py")):
        name = _module_name(path)
        graph.add_node(name)
        for target in _imports(path):
            graph.add_edge(name, target)
    return graph


def _stage(module: str) -> str:
    for stage in sorted(LAYERS, key=len, reverse=True):
        if module == stage or module.startswith(stage + "."):
            return stage
    return module


def test_every_module_belongs_to_a_stage():
    stray = [m for m in _graph().nodes if m not in FOUNDATION and _stage(m) not in LAYERS]
    assert not stray, f"modules outside the stage layout: {stray}"


def test_no_upward_imports():
    upward = []
    for src, dst in _graph().edges:
        if src in FOUNDATION or dst in FOUNDATION:
            continue
        s, d = _stage(src), _stage(dst)
        if s != d and LAYERS.index(d) > LAYERS.index(s):
            upward.append(f"{src} -> {dst}")
    assert not upward, "upward imports:\n" + "\n".join(sorted(upward))


def test_no_import_cycles():
    cycles = list(nx.simple_cycles(_graph()))
    assert not cycles, f"import cycles: {cycles}"


def test_light_stages_import_tensorflow_only_inside_functions():
    """kb, rules, questionnaire, perf, solve, report and console never import TensorFlow at module level."""
    heavy = {"tensorflow", "tf_keras", "tensorflow_model_optimization", "tflite_micro", "numpy"}
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if _stage(_module_name(path)) in ("advisor.run", "advisor.search"):
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in heavy]
    assert not offenders, offenders
