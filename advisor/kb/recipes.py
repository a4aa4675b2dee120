"""Recipes as step graphs: check each step against the registry and order the steps (a DAG)."""

from __future__ import annotations

import networkx as nx

from advisor.kb.entities import Recipe, RecipeStep
from advisor.problems import did_you_mean
from advisor.kb.steps import Registry, default_registry


def check_recipe(recipe: Recipe, registry: Registry | None = None) -> list[tuple[tuple, str]]:
    """(path in the recipe file, message) for every unknown step, bad parameter, dangling or cyclic requires."""
    registry = registry or default_registry()
    problems: list[tuple[tuple, str]] = []
    ids = [s.id for s in recipe.steps]
    for i, step in enumerate(recipe.steps):
        if ids.count(step.id) > 1 and ids.index(step.id) != i:
            problems.append((("steps", i, "id"), f"duplicate step id '{step.id}'"))
        spec = registry.get(step.uses)
        if spec is None:
            problems.append((("steps", i, "uses"), f"unknown step '{step.uses}'{did_you_mean(step.uses, registry.available())}"
                             f" (available: {', '.join(registry.available())})"))
        else:
            for name, message in spec.resolve(step.with_)[1]:
                problems.append((("steps", i, "with", name), message))
        for j, dep in enumerate(step.requires):
            if dep not in ids:
                problems.append((("steps", i, "requires", j), f"no step '{dep}' in this recipe{did_you_mean(dep, ids)}"))
    graph = _graph(recipe)
    for cycle in nx.simple_cycles(graph):
        first = min(cycle)
        ring = cycle[cycle.index(first):] + cycle[:cycle.index(first)] + [first]
        problems.append((("steps", ids.index(first), "requires"), f"steps require each other: {' -> '.join(ring)}"))
    return problems


def _graph(recipe: Recipe) -> nx.DiGraph:
    graph = nx.DiGraph()
    ids = {s.id for s in recipe.steps}
    for step in recipe.steps:
        graph.add_node(step.id)
        for dep in step.requires:
            if dep in ids:
                graph.add_edge(dep, step.id)
    return graph


def step_order(recipe: Recipe) -> list[RecipeStep]:
    """The steps in an order that respects ``requires``; ties keep the file's order (deterministic)."""
    position = {s.id: i for i, s in enumerate(recipe.steps)}
    by_id = {s.id: s for s in recipe.steps}
    order = nx.lexicographical_topological_sort(_graph(recipe), key=lambda n: position[n])
    return [by_id[n] for n in order]
