"""The knowledge base as a networkx graph: every reference must resolve; some relations must be acyclic."""

from __future__ import annotations

import networkx as nx

from advisor.kb.base import KnowledgeBase
from advisor.problems import Problem, did_you_mean, json_path
from advisor.kb.yamlio import line_of

# (source kind, field path, target kind, must be acyclic)
REFERENCES: tuple[tuple[str, tuple, str, bool], ...] = (
    ("board", ("frameworks",), "framework", False),
    ("framework", ("builds_on",), "framework", True),
    ("framework", ("operators",), "operator-set", False),
    ("operator-set", ("framework",), "framework", False),
    ("technique", ("preconditions", "requires"), "technique", True),
    ("technique", ("frameworks",), "framework", False),
    ("technique", ("tools",), "tool", False),
    ("guideline-step", ("follows",), "guideline-step", True),
    ("pitfall", ("step",), "guideline-step", False),
    ("recipe", ("techniques",), "technique", False),
)


def _values(entity, path: tuple) -> list[tuple[tuple, str]]:
    """The referenced ids at ``path`` with the exact path of each (lists expand to indices)."""
    value = entity.model_dump(by_alias=True)
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [(path + (i,), v) for i, v in enumerate(value)]
    return [(path, value)]


def build_graph(kb: KnowledgeBase, broken: set[str] = frozenset()) -> tuple[nx.MultiDiGraph, list[Problem]]:
    """Nodes are entity ids (attribute ``kind``); edges carry the relation name.

    References to ``broken`` ids (entries that failed to load) are skipped: their own problem
    was reported already.

    Returns:
        The graph and every dangling reference, cycle or inconsistency found.
    """
    graph = nx.MultiDiGraph()
    for entity in kb.all():
        graph.add_node(entity.id, kind=kb.kind_of(entity.id))
    problems: list[Problem] = []
    for src_kind, path, dst_kind, _acyclic in REFERENCES:
        relation = ".".join(path)
        for entity in kb.entities[src_kind].values():
            loc = kb.where[entity.id]
            for ref_path, target in _values(entity, path):
                if target in kb.entities[dst_kind]:
                    graph.add_edge(entity.id, target, relation=relation)
                    continue
                if target in broken:
                    continue
                other = kb.kind_of(target)
                why = f"is a {other}, not a {dst_kind}" if other else \
                    f"no {dst_kind} with this id{did_you_mean(target, kb.entities[dst_kind])}"
                problems.append(Problem(loc.file, line_of(loc.lines, ref_path), json_path(ref_path),
                                        f"unknown {dst_kind} '{target}': {why}", "reference"))
    problems += _check_cycles(kb, graph)
    problems += _check_consistency(kb)
    return graph, problems


def _check_cycles(kb: KnowledgeBase, graph: nx.MultiDiGraph) -> list[Problem]:
    problems = []
    for src_kind, path, _dst, acyclic in REFERENCES:
        if not acyclic:
            continue
        relation = ".".join(path)
        sub = nx.DiGraph((u, v) for u, v, r in graph.edges(data="relation")
                         if r == relation and graph.nodes[u]["kind"] == src_kind)
        for cycle in nx.simple_cycles(sub):
            first = min(cycle)
            loc = kb.where[first]
            ring = " -> ".join(cycle[cycle.index(first):] + cycle[:cycle.index(first)] + [first])
            problems.append(Problem(loc.file, line_of(loc.lines, path), json_path(path),
                                    f"cycle in {relation}: {ring}", "cycle"))
    return problems


def _check_consistency(kb: KnowledgeBase) -> list[Problem]:
    problems = []
    for fw in kb.frameworks.values():
        opset = kb.operator_sets.get(fw.operators or "")
        if opset and opset.framework != fw.id:
            loc = kb.where[fw.id]
            problems.append(Problem(loc.file, line_of(loc.lines, ("operators",)), "$.operators",
                                    f"operator set '{opset.id}' belongs to framework '{opset.framework}'",
                                    "reference"))
    for pitfall in kb.pitfalls.values():
        step = kb.guideline.get(pitfall.step)
        if step and pitfall.problem not in {p.id for p in step.problems}:
            loc = kb.where[pitfall.id]
            ids = [p.id for p in step.problems]
            problems.append(Problem(loc.file, line_of(loc.lines, ("problem",)), "$.problem",
                                    f"step '{step.id}' has no problem '{pitfall.problem}'"
                                    f"{did_you_mean(pitfall.problem, ids)}", "reference",
                                    "allowed: " + ", ".join(ids)))
    for recipe in kb.recipes.values():
        applied = set(recipe.techniques)
        for i, tid in enumerate(recipe.techniques):
            technique = kb.techniques.get(tid)
            missing = [r for r in (technique.preconditions.requires if technique else ()) if r not in applied]
            if missing:
                loc = kb.where[recipe.id]
                problems.append(Problem(loc.file, line_of(loc.lines, ("techniques", i)), f"$.techniques[{i}]",
                                        f"'{tid}' requires {', '.join(missing)}, which this recipe does not apply",
                                        "reference"))
    steps = sorted(kb.guideline.values(), key=lambda s: s.step)
    numbers = [s.step for s in steps]
    if steps and numbers != list(range(1, len(steps) + 1)):
        loc = kb.where[steps[0].id]
        problems.append(Problem(loc.file, line_of(loc.lines, ("step",)), "$.step",
                                f"guideline steps must be numbered 1..{len(steps)} once each, got {numbers}",
                                "reference"))
    for prev, step in zip(steps, steps[1:]):
        if step.follows != prev.id:
            loc = kb.where[step.id]
            problems.append(Problem(loc.file, line_of(loc.lines, ("follows",)), "$.follows",
                                    f"step {step.step} must follow '{prev.id}', not '{step.follows}'",
                                    "reference"))
    return problems
