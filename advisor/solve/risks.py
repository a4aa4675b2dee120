"""The pitfalls that fire for one stack's rule context (the solver's risk term and every explanation use this)."""

from __future__ import annotations

from dataclasses import dataclass

from advisor.kb.base import KnowledgeBase
from advisor.kb.entities import SEVERITIES
from advisor.rules.core import EvaluationError, evaluation_problem, fields_read, project


@dataclass(frozen=True)
class FiredPitfall:
    id: str
    name: str
    severity: str
    step: str
    evidence: str
    mitigation: str
    sources: tuple[str, ...]


def pitfalls_for(ctx: dict, kb: KnowledgeBase) -> list[FiredPitfall]:
    """Every pitfall whose condition fires in ``ctx``, most severe first."""
    fired = []
    reads = _pitfall_reads(kb)
    for pid, rule in sorted(kb.rules.items()):
        try:
            fires = rule.condition(project(ctx, reads[pid])) is True
            evidence = rule.evidence.render(ctx) if fires else ""
        except EvaluationError as exc:
            raise evaluation_problem("pitfall", pid, "condition", exc, kb.where.get(pid)) from None
        if fires:
            p = rule.pitfall
            fired.append(FiredPitfall(p.id, p.name, p.severity, p.step, evidence, p.mitigation,
                                      tuple(s.ref for s in p.sources)))
    fired.sort(key=lambda p: (-SEVERITIES.index(p.severity), p.id))
    return fired


def _pitfall_reads(kb: KnowledgeBase) -> dict[str, frozenset]:
    cached = getattr(kb, "_pitfall_reads", None)
    if cached is None:
        cached = {pid: fields_read(rule.pitfall.condition) for pid, rule in kb.rules.items()}
        kb._pitfall_reads = cached  # type: ignore[attr-defined]
    return cached
