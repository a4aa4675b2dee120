"""The loaded knowledge base: typed entities by kind, compiled pitfall rules, and a digest."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from advisor.kb.entities import (Board, Constraint, Family, Framework, GuidelineStep, OperatorSet, Overhead, Pitfall, Ranking, Recipe,
                                 ReferenceModel, SearchSpace, Strict, Technique, Throughput, Tool)
from advisor.resources import RECIPES
from advisor.rules.core import Condition, Template

# folder under knowledge/ (recipes: the repository's recipes/ folder) -> (schema name, entity kind, model class)
KINDS: dict[str, tuple[str, str, type[Strict]]] = {
    "guideline": ("guideline-step", "guideline-step", GuidelineStep),
    "boards": ("board", "board", Board),
    "frameworks": ("framework", "framework", Framework),
    "operators": ("operator-set", "operator-set", OperatorSet),
    "techniques": ("technique", "technique", Technique),
    "tools": ("tool", "tool", Tool),
    "pitfalls": ("pitfall", "pitfall", Pitfall),
    "reference-models": ("reference-model", "reference-model", ReferenceModel),
    "throughput": ("throughput", "throughput", Throughput),
    "constraints": ("constraint", "constraint", Constraint),
    "search-spaces": ("search-space", "search-space", SearchSpace),
    "families": ("family", "family", Family),
    "ranking": ("ranking", "ranking", Ranking),
    "overheads": ("overhead", "overhead", Overhead),
    "recipes": ("recipe", "recipe", Recipe),
}
# Kinds that are the project's own choices, not published facts: they carry notes, not sources.
OWN_KINDS = ("recipe", "search-space", "family", "ranking")
RECIPES_FOLDER = "recipes"  # lives next to knowledge/, not inside it
KIND_NAMES = tuple(kind for _schema, kind, _cls in KINDS.values())


def recipes_folder(root: Path, recipes: Path | str | None = None) -> Path:
    """The recipes that go with knowledge base ``root``: ``recipes`` when given, else ``root``'s sibling
    ``recipes/`` folder when it exists, else the packaged recipes."""
    if recipes is not None:
        return Path(recipes)
    sibling = Path(root).parent / RECIPES_FOLDER
    return sibling if sibling.is_dir() else RECIPES


@dataclass(frozen=True)
class Located:
    """Where an entity came from: its file and the line of each path in it."""

    file: str
    lines: dict


@dataclass(frozen=True)
class CompiledPitfall:
    pitfall: Pitfall
    condition: Condition
    evidence: Template


@dataclass(frozen=True)
class CompiledConstraint:
    constraint: Constraint
    holds: Condition
    explain: Template
    need: Condition | None
    reads: frozenset  # (root, field) pairs the condition reads
    stage: str  # board | fw | recipe | board-fw | fw-recipe | board-recipe | candidate


@dataclass
class KnowledgeBase:
    """Everything the advisor knows, keyed by kind then id (ids are unique across kinds)."""

    entities: dict[str, dict[str, Strict]] = field(default_factory=lambda: {k: {} for k in KIND_NAMES})
    where: dict[str, Located] = field(default_factory=dict)
    rules: dict[str, CompiledPitfall] = field(default_factory=dict)
    constraints: dict[str, CompiledConstraint] = field(default_factory=dict)
    digest: str = ""
    files: int = 0

    def kind_of(self, entity_id: str) -> str | None:
        for kind, items in self.entities.items():
            if entity_id in items:
                return kind
        return None

    def get(self, entity_id: str) -> Strict | None:
        kind = self.kind_of(entity_id)
        return self.entities[kind][entity_id] if kind else None

    def all(self) -> Iterator[Strict]:
        for kind in KIND_NAMES:
            yield from self.entities[kind].values()

    @property
    def boards(self) -> dict[str, Board]:
        return self.entities["board"]  # type: ignore[return-value]

    @property
    def frameworks(self) -> dict[str, Framework]:
        return self.entities["framework"]  # type: ignore[return-value]

    @property
    def operator_sets(self) -> dict[str, OperatorSet]:
        return self.entities["operator-set"]  # type: ignore[return-value]

    @property
    def techniques(self) -> dict[str, Technique]:
        return self.entities["technique"]  # type: ignore[return-value]

    @property
    def tools(self) -> dict[str, Tool]:
        return self.entities["tool"]  # type: ignore[return-value]

    @property
    def guideline(self) -> dict[str, GuidelineStep]:
        return self.entities["guideline-step"]  # type: ignore[return-value]

    @property
    def pitfalls(self) -> dict[str, Pitfall]:
        return self.entities["pitfall"]  # type: ignore[return-value]

    @property
    def reference_models(self) -> dict[str, ReferenceModel]:
        return self.entities["reference-model"]  # type: ignore[return-value]

    @property
    def throughput(self) -> dict[str, Throughput]:
        return self.entities["throughput"]  # type: ignore[return-value]

    @property
    def recipes(self) -> dict[str, Recipe]:
        return self.entities["recipe"]  # type: ignore[return-value]

    @property
    def search_spaces(self) -> dict[str, SearchSpace]:
        return self.entities["search-space"]  # type: ignore[return-value]

    @property
    def families(self) -> dict[str, Family]:
        return self.entities["family"]  # type: ignore[return-value]

    @property
    def overheads(self) -> dict[str, Overhead]:
        return self.entities["overhead"]  # type: ignore[return-value]

    @property
    def rankings(self) -> dict[str, Ranking]:
        return self.entities["ranking"]  # type: ignore[return-value]

    def counts(self) -> dict[str, int]:
        return {kind: len(items) for kind, items in self.entities.items()}
