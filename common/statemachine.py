"""A transition table: the allowed moves of one status column, each with its audit tag.

``moderation.lifecycle`` (content) and ``publishers.lifecycle`` (deliveries) each build one
and are the only code that assigns their status; this holds what they share — the lookup,
the refusal (HTTP 409 where a request caused it) and the table as Markdown for the docs.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from common.errors import Conflict

S = TypeVar("S", bound=enum.Enum)


@dataclass(frozen=True)
class Edge(Generic[S]):
    source: S
    target: S
    audit: str  # the audit tag recorded with the move
    by: str  # who or what makes it (for the docs), in Chinese
    event: str = ""  # the step that makes it, where callers pick moves by step (review actions)


class IllegalTransition(Conflict):
    """A move the table does not have."""

    def __init__(self, noun: str, labels: Mapping[S, str], current: S, to: S) -> None:
        super().__init__(
            f"{noun}处于“{labels[current]}”状态，不能变为“{labels[to]}”",
            code="invalid_state",
            details={"status": current.value, "to": to.value},
        )
        self.current = current
        self.to = to


class TransitionTable(Generic[S]):
    def __init__(self, noun: str, labels: Mapping[S, str], edges: Iterable[Edge[S]]) -> None:
        self.noun = noun
        self.labels = labels
        self.edges: dict[tuple[S, S], Edge[S]] = {}
        for e in edges:
            if (e.source, e.target) in self.edges:
                raise ValueError(f"two moves {e.source.value} → {e.target.value}")
            self.edges[(e.source, e.target)] = e

    def allowed(self, current: S, to: S) -> bool:
        return (current, to) in self.edges

    def edge(self, current: S, to: S) -> Edge[S]:
        """The move, or ``IllegalTransition``."""
        found = self.edges.get((current, to))
        if found is None:
            raise IllegalTransition(self.noun, self.labels, current, to)
        return found

    def sources(self, to: S, event: str | None = None) -> tuple[S, ...]:
        return tuple(e.source for e in self.edges.values() if e.target is to and event in (None, e.event))

    def pairs(self) -> tuple[list[tuple[S, S]], list[tuple[S, S]]]:
        """Every (from, to) pair of the states: (the moves in the table, all the others)."""
        every = [(a, b) for a in self.labels for b in self.labels]
        return [p for p in every if p in self.edges], [p for p in every if p not in self.edges]

    @staticmethod
    def pair_id(pair: tuple[S, S]) -> str:
        """A readable pytest id for a pair."""
        return f"{pair[0].value}->{pair[1].value}"

    def markdown(self) -> str:
        with_events = any(e.event for e in self.edges.values())
        head = "| 从 from | 到 to |" + (" 事件 event |" if with_events else "") + " 审计 audit | 谁/什么 |"
        lines = [head, "|---" * head.count(" |") + "|"]
        for e in self.edges.values():
            event = f" `{e.event}` |" if with_events else ""
            lines.append(f"| `{e.source.value}` | `{e.target.value}` |{event} `{e.audit}` | {e.by} |")
        return "\n".join(lines)
