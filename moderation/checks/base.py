"""Core types: findings, hits, the check base class and the per-text scan context."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from moderation.checks.normalize import fold

if TYPE_CHECKING:
    from moderation.checks.data import Entry, Lexicon

BLOCK = "block"
WARN = "warn"
SEVERITIES = (BLOCK, WARN)

SEVERITY_LABELS = {BLOCK: "阻断", WARN: "提示"}
KIND_LABELS = {
    "sensitive": "敏感词",
    "commercial": "商业广告用语",
    "serious_error": "严重表述错误",
    "secrecy": "涉密标志",
    "privacy": "个人信息",
    "link": "外部链接",
    "platform_limit": "平台限制",
}


@dataclass(frozen=True, slots=True)
class CheckFinding:
    """One finding of the automated checks, as stored in a CheckReport."""

    kind: str
    severity: str
    field: str
    start: int
    end: int
    text: str
    message: str
    suggestion: str | None
    rule: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CheckFinding:
        return cls(
            kind=str(data["kind"]),
            severity=str(data["severity"]),
            field=str(data["field"]),
            start=int(data["start"]),
            end=int(data["end"]),
            text=str(data.get("text", "")),
            message=str(data["message"]),
            suggestion=data.get("suggestion"),
            rule=str(data.get("rule", "")),
        )


@dataclass(frozen=True, slots=True)
class Hit:
    """What a check reports about one text; the pipeline adds the field name.

    ``kind`` overrides the check's kind when one check reports several kinds.
    """

    start: int
    end: int
    text: str
    severity: str
    message: str
    rule: str
    suggestion: str | None = None
    kind: str | None = None


# (start, end, entry) with end exclusive, in character offsets of the original text.
TermHit = tuple[int, int, "Entry"]

# A Hit as a plain tuple, in Hit's field order: (start, end, text, severity, message, rule,
# suggestion, kind).  The built-in checks report rows; the pipeline builds one CheckFinding each.
Row = tuple[int, int, str, str, str, str, str | None, str | None]

_new = object.__new__
(
    _set_kind,
    _set_severity,
    _set_field,
    _set_start,
    _set_end,
    _set_text,
    _set_message,
    _set_suggestion,
    _set_rule,
) = (getattr(CheckFinding, name).__set__ for name in CheckFinding.__dataclass_fields__)


def new_finding(  # noqa: PLR0917  CheckFinding's nine fields, in its order, as its constructor takes them
    kind: str,
    severity: str,
    field: str,
    start: int,
    end: int,
    text: str,
    message: str,
    suggestion: str | None,
    rule: str,
) -> CheckFinding:
    """``CheckFinding(...)`` at a third of the cost: the frozen dataclass's ``__init__`` goes
    through ``object.__setattr__`` for each of the nine fields; this sets the slots directly.
    The result is the same object (equal, same hash, same ``to_dict``)."""
    f = _new(CheckFinding)
    _set_kind(f, kind)
    _set_severity(f, severity)
    _set_field(f, field)
    _set_start(f, start)
    _set_end(f, end)
    _set_text(f, text)
    _set_message(f, message)
    _set_suggestion(f, suggestion)
    _set_rule(f, rule)
    return f


FindingsHook = Callable[[Mapping[str, str | None]], Iterable[CheckFinding]]
"""A caller-supplied function adding findings for a whole item (e.g. platform limits)."""


def has_blocking(findings: Iterable[CheckFinding]) -> bool:
    return any(f.severity == BLOCK for f in findings)


def make_finding(
    kind: str,
    field: str,
    message: str,
    *,
    severity: str = BLOCK,
    rule: str = "",
    text: str = "",
    start: int = 0,
    end: int = 0,
    suggestion: str | None = None,
) -> CheckFinding:
    """Build a finding that did not come from a text check (e.g. an adapter's LimitProblem)."""
    if severity not in SEVERITIES:
        raise ValueError(f"severity must be one of {SEVERITIES}, not {severity!r}")
    return CheckFinding(kind, severity, field, start, end, text, message, suggestion, rule or kind)


class ScanContext:
    """Per-text state shared by the checks of one pipeline run: one Aho–Corasick pass over the
    text (``Lexicon.scan``: folded only when the dictionaries need it), bucketed by entry kind,
    with the allow-list applied, plus trigger positions for the regex-based checks."""

    __slots__ = ("_buckets", "_folded", "field", "lexicon", "text")

    def __init__(self, text: str, lexicon: Lexicon, field: str = "") -> None:
        self.text = text
        self.lexicon = lexicon
        self.field = field
        self._folded: str | None = None
        self._buckets: dict[str, list[TermHit]] | None = None

    @property
    def folded(self) -> str:
        """The whole text folded (full-width → ASCII, lower case); same length and offsets."""
        if self._folded is None:
            self._folded = fold(self.text)
        return self._folded

    def terms(self, kind: str) -> list[TermHit]:
        """Dictionary hits of one entry kind (overlapping, in (start, longest first) order),
        allow-list applied.

        Trigger kinds (data.TRIGGER_*) give where digits, room numbers or URLs may be, in order
        of their end."""
        if self._buckets is None:
            self._buckets = self._scan()
        return self._buckets.get(kind, [])

    def buckets(self) -> dict[str, list[TermHit]]:
        """Every non-empty bucket of ``terms``, by kind."""
        if self._buckets is None:
            self._buckets = self._scan()
        return self._buckets

    def _scan(self) -> dict[str, list[TermHit]]:
        return self.lexicon.scan(self.text, self._folded)


def _hit_order(h: TermHit) -> tuple[int, int]:
    return (h[0], h[0] - h[1])


def longest_first(hits: Iterable[TermHit]) -> list[TermHit]:
    """Leftmost-longest, non-overlapping selection of dictionary hits."""
    return longest_first_sorted(sorted(hits, key=_hit_order))


def longest_first_sorted(hits: list[TermHit]) -> list[TermHit]:
    """``longest_first`` of hits already in (start, longest first) order, as ``terms`` gives them."""
    if len(hits) < 2:
        return hits
    out: list[TermHit] = []
    last_end = -1
    for h in hits:
        if h[0] >= last_end:
            out.append(h)
            last_end = h[1]
    return out


class DefaultLexicon:
    """Where a check called on its own (no lexicon, no pipeline context) finds its data.

    ``moderation.checks.pipeline`` points it at the default pipeline's current lexicon when it
    is imported (the package imports it first), so base.py does not import the pipeline.
    """

    source: Callable[[], Lexicon] | None = None


class Check(ABC):
    """One automated check: one method over one text, returning hits with exact spans.

    ``ctx`` is supplied by the pipeline (shared fold and automaton pass); when a check is
    called on its own it builds one from its lexicon (or the default pipeline's).
    """

    kind: str = ""

    def __init__(self, lexicon: Lexicon | None = None) -> None:
        self.lexicon = lexicon

    @abstractmethod
    def check(self, text: str, ctx: ScanContext | None = None) -> Iterable[Hit]:
        raise NotImplementedError

    def context(self, text: str, ctx: ScanContext | None) -> ScanContext:
        """``ctx`` when it is the context of ``text``, else a new one."""
        if ctx is not None and ctx.text is text:
            return ctx
        lexicon = self.lexicon or (ctx.lexicon if ctx is not None else None)
        if lexicon is None:
            if DefaultLexicon.source is None:
                raise RuntimeError("no lexicon: pass one, or import moderation.checks (the default pipeline's)")
            lexicon = DefaultLexicon.source()
        return ScanContext(text, lexicon)


class RowCheck(Check):
    """A built-in check: ``rows`` reports plain tuples (see ``Row``) that the pipeline turns into
    findings directly; ``check`` gives the same as Hits.  ``needs``: the ``ScanContext.terms``
    kinds it reads — when the text has none of them the pipeline does not call it at all."""

    needs: tuple[str, ...] = ()

    def check(self, text: str, ctx: ScanContext | None = None) -> list[Hit]:
        return [Hit(*row) for row in self.rows(text, self.context(text, ctx))]

    @abstractmethod
    def rows(self, text: str, ctx: ScanContext) -> Iterable[Row]:
        """What ``check`` reports, as tuples; ``ctx`` is the context of ``text``."""
        raise NotImplementedError
