"""Text presentation for reviewers: version diffs (difflib) and inline check-finding marks.

Pure functions over strings and dicts; templates render the results with ``.diff-del`` /
``.diff-ins`` and ``<mark class="finding-block|finding-warn">``.
"""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from common.timefmt import bj

EQUAL = "equal"
INSERT = "insert"
DELETE = "delete"

# Character-level refinement of a changed block is quadratic; above this size show whole lines.
_CHAR_DIFF_LIMIT = 4000


@dataclass(frozen=True)
class Op:
    op: str  # equal | insert | delete
    text: str

    def to_dict(self) -> dict[str, str]:
        return {"op": self.op, "text": self.text}


@dataclass(frozen=True)
class Row:
    """One line pair of a side-by-side diff; each side is a list of ops (equal/delete or equal/insert)."""

    kind: str  # equal | replace | insert | delete
    left: tuple[Op, ...]
    right: tuple[Op, ...]
    left_no: int | None
    right_no: int | None


def _merge(ops: Iterable[Op]) -> list[Op]:
    out: list[Op] = []
    for op in ops:
        if not op.text:
            continue
        if out and out[-1].op == op.op:
            out[-1] = Op(op.op, out[-1].text + op.text)
        else:
            out.append(op)
    return out


def _char_ops(old: str, new: str) -> list[Op]:
    if len(old) + len(new) > _CHAR_DIFF_LIMIT:
        return [Op(DELETE, old), Op(INSERT, new)]
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    ops: list[Op] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            ops.append(Op(EQUAL, old[i1:i2]))
        else:
            ops.append(Op(DELETE, old[i1:i2]))
            ops.append(Op(INSERT, new[j1:j2]))
    return ops


def diff_text(old: str | None, new: str | None) -> list[Op]:
    """Inline diff: lines first, then characters inside changed lines (works for Chinese text)."""
    old = old or ""
    new = new or ""
    if old == new:
        return [Op(EQUAL, old)] if old else []
    a = old.splitlines(keepends=True)
    b = new.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    ops: list[Op] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        left = "".join(a[i1:i2])
        right = "".join(b[j1:j2])
        if tag == "equal":
            ops.append(Op(EQUAL, left))
        elif tag == "delete":
            ops.append(Op(DELETE, left))
        elif tag == "insert":
            ops.append(Op(INSERT, right))
        else:
            ops.extend(_char_ops(left, right))
    return _merge(ops)


def side_by_side(old: str | None, new: str | None) -> list[Row]:
    """Line-aligned rows for a two-column view, changed lines refined to characters."""
    a = (old or "").splitlines()
    b = (new or "").splitlines()
    rows: list[Row] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for k in range(i2 - i1):
                text = (Op(EQUAL, a[i1 + k]),)
                rows.append(Row(EQUAL, text, text, i1 + k + 1, j1 + k + 1))
            continue
        span = max(i2 - i1, j2 - j1)
        for k in range(span):
            left = a[i1 + k] if i1 + k < i2 else None
            right = b[j1 + k] if j1 + k < j2 else None
            if left is not None and right is not None:
                ops = _char_ops(left, right)
                lops = tuple(_merge(o for o in ops if o.op != INSERT))
                rops = tuple(_merge(o for o in ops if o.op != DELETE))
                rows.append(Row("replace", lops, rops, i1 + k + 1, j1 + k + 1))
            elif left is not None:
                rows.append(Row(DELETE, (Op(DELETE, left),), (), i1 + k + 1, None))
            else:
                rows.append(Row(INSERT, (), (Op(INSERT, right or ""),), None, j1 + k + 1))
    return rows


# ----------------------------------------------------------------------------- version diffs

DIFF_FIELDS: tuple[tuple[str, str], ...] = (
    ("title", "标题"),
    ("summary", "摘要"),
    ("body_text", "正文"),
    ("disclosure", "公开属性"),
    ("kind", "稿件类型"),
    ("targets", "发布账号"),
    ("overrides", "各平台单独文案"),
    ("media", "图片与附件"),
    ("publish_at", "定时发布"),
)


@dataclass
class FieldDiff:
    field: str
    label: str
    changed: bool
    ops: list[Op] = field(default_factory=list)
    old: str = ""
    new: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "label": self.label,
            "changed": self.changed,
            "ops": [o.to_dict() for o in self.ops],
        }


def _field_text(snapshot: Mapping[str, Any], name: str) -> str:
    """A readable one-string rendering of one snapshot field, for diffing."""
    value = snapshot.get(name)
    if name == "targets":
        items = value or []
        return "\n".join(f"{t.get('platform_label') or t.get('platform')}：{t.get('name')}" for t in items)
    if name == "media":
        lines = []
        for m in value or []:
            line = f"{m.get('name')}（{m.get('content_type')}，{str(m.get('sha256') or '')[:12]}）"
            if m.get("alt"):
                line += f" 说明：{m['alt']}"
            lines.append(line)
            if m.get("text"):
                lines.append(f"  附件文字：{m['text']}")
        return "\n".join(lines)
    if name == "overrides":
        lines = []
        for platform in sorted(value or {}):
            entry = value[platform]
            if isinstance(entry, Mapping):
                lines.extend(f"{platform}.{k}：{entry[k]}" for k in sorted(entry))
            else:
                lines.append(f"{platform}：{entry}")
        return "\n".join(lines)
    if name == "disclosure":
        label = snapshot.get("disclosure_label") or value or ""
        reason = snapshot.get("disclosure_reason")
        return f"{label}（理由：{reason}）" if reason else str(label)
    if name == "kind":
        label = snapshot.get("kind_label") or value or ""
        if snapshot.get("policy_id"):
            return f"{label}（关联政策文件 #{snapshot['policy_id']}）"
        return str(label)
    if name == "publish_at":
        return f"{bj(value)}（北京时间）" if value else ""
    return "" if value is None else str(value)


def diff_snapshots(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> list[FieldDiff]:
    """Field-by-field diff of two version snapshots (``old`` None: everything is new)."""
    out = []
    for name, label in DIFF_FIELDS:
        before = _field_text(old, name) if old is not None else ""
        after = _field_text(new, name)
        out.append(FieldDiff(name, label, before != after, diff_text(before, after), before, after))
    return out


# ----------------------------------------------------------------------------- finding marks


@dataclass(frozen=True)
class Segment:
    """A run of text, plain (``severity`` None) or covered by findings (numbers into the list)."""

    text: str
    severity: str | None = None
    numbers: tuple[int, ...] = ()
    messages: tuple[str, ...] = ()
    ends: tuple[int, ...] = ()  # numbers of the findings whose span ends with this segment


def highlight(text: str, findings: Sequence[Mapping[str, Any]], numbers: Sequence[int] | None = None) -> list[Segment]:
    """Split ``text`` at the findings' spans; overlapping findings share a segment (block wins).

    ``findings`` are dicts with start, end, severity, message, suggestion; ``numbers`` are the
    labels shown next to each mark (defaults to 1..n).
    """
    if not text:
        return []
    numbers = list(numbers) if numbers is not None else list(range(1, len(findings) + 1))
    spans = []
    for n, f in zip(numbers, findings, strict=True):
        start = max(0, min(len(text), int(f.get("start") or 0)))
        end = max(start, min(len(text), int(f.get("end") or 0)))
        if end > start:
            spans.append((start, end, n, f))
    if not spans:
        return [Segment(text)]
    cuts = sorted({0, len(text)} | {s for s, _, _, _ in spans} | {e for _, e, _, _ in spans})
    segments: list[Segment] = []
    for a, b in itertools.pairwise(cuts):
        covering = [(n, f, e) for s, e, n, f in spans if s <= a and b <= e]
        piece = text[a:b]
        if not covering:
            segments.append(Segment(piece))
            continue
        severity = "block" if any(f.get("severity") == "block" for _, f, _ in covering) else "warn"
        messages = tuple(_finding_note(f) for _, f, _ in covering)
        ends = tuple(n for n, _, e in covering if e == b)
        segments.append(Segment(piece, severity, tuple(n for n, _, _ in covering), messages, ends))
    return segments


def _finding_note(f: Mapping[str, Any]) -> str:
    note = str(f.get("message") or "")
    if f.get("suggestion"):
        note += f"；建议：{f['suggestion']}"
    return note


def marked_fields(
    fields: Mapping[str, str],
    findings: Sequence[Mapping[str, Any]],
    label: Callable[[str], str],
    *,
    every_field: bool = False,
) -> dict[str, Any]:
    """Check findings numbered 1..n (``items``), the text of each field with findings (of every
    non-empty field: ``every_field``) split into marked segments (``marked``: field, label,
    segments, in the order of ``fields``) and the counts of blocking hits and warnings — what
    ``moderation/_macros.html``'s ``findings_section`` shows, for a draft or a live post."""
    numbered = [{**f, "number": n} for n, f in enumerate(findings, start=1)]
    by_field: dict[str, list[dict[str, Any]]] = {}
    for f in numbered:
        by_field.setdefault(f["field"], []).append(f)
    marked = [
        {
            "field": name,
            "label": label(name),
            "segments": highlight(text, items := by_field.get(name, []), [f["number"] for f in items]),
        }
        for name, text in fields.items()
        if text and (every_field or name in by_field)
    ]
    return {
        "items": numbered,
        "marked": marked,
        "blocking": sum(1 for f in numbered if f["severity"] == "block"),
        "warnings": sum(1 for f in numbered if f["severity"] == "warn"),
    }
