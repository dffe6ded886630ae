"""The scoring rules as data, and the pure scoring method over one account's facts.

The rules file (YAML, ``data/rules.yaml`` ships the default) names the single-veto items and the
100-point deduction part: indicators with their points (the cap) and deduction items, each
measured by one of the engine's :data:`MEASURES`. :func:`parse` validates a file's text and
returns the rules or raises :class:`RulesError` with every problem in Chinese.

:func:`evaluate` is the 国办秘函〔2019〕19号 method (DOMAIN.md R9): any veto item fails the
account and scoring stops (the deduction part is still listed, as reference); otherwise the
deductions of one indicator are summed and capped at the indicator's points, total = full marks
minus the capped sums, and below the pass line fails. No follower figure enters anything here.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from common.timefmt import bj
from oversight.models import FindingKind

DEFAULT_RULES_PATH = Path(__file__).resolve().parent / "data" / "rules.yaml"

VETO_KEYS = ("security", "no_update", "interaction", "fraud")
MEASURES = ("findings", "no_post_days", "original_share_below", "reply_rate_below")
CHECK_KINDS = ("secrecy", "serious_error", "sensitive", "privacy", "commercial", "link")
FINDING_STATUSES = ("open", "confirmed", "resolved")
STATUS_MARKS = ("C", "L", "I")
MAX_RULES_BYTES = 256 * 1024


class RulesError(ValueError):
    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


# ----------------------------------------------------------------------------- schema


FINDING_KINDS = tuple(k.value for k in FindingKind)


class SourceSchema(Schema):
    ref = fields.String(required=True, validate=validate.Length(min=1, max=300))
    status = fields.String(load_default="I", validate=validate.OneOf(STATUS_MARKS))
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))


class VetoParams(Schema):
    check_kinds = fields.List(fields.String(validate=validate.OneOf(CHECK_KINDS)), load_default=list)
    finding_kinds = fields.List(fields.String(validate=validate.OneOf(FINDING_KINDS)), load_default=list)
    days = fields.Integer(load_default=14, validate=validate.Range(min=1, max=365))


class VetoSchema(Schema):
    key = fields.String(required=True, validate=validate.OneOf(VETO_KEYS))
    label = fields.String(required=True, validate=validate.Length(min=1, max=200))
    status = fields.String(load_default="I", validate=validate.OneOf(STATUS_MARKS))
    params = fields.Nested(VetoParams, load_default=lambda: VetoParams().load({}))


class ItemParams(Schema):
    finding_kinds = fields.List(fields.String(validate=validate.OneOf(FINDING_KINDS)), load_default=list)
    check_kinds = fields.List(fields.String(validate=validate.OneOf(CHECK_KINDS)), load_default=list)
    days = fields.Integer(load_default=None, validate=validate.Range(min=1, max=365))
    share = fields.Float(load_default=None, validate=validate.Range(min=0, max=1))
    rate = fields.Float(load_default=None, validate=validate.Range(min=0, max=1))
    min_posts = fields.Integer(load_default=1, validate=validate.Range(min=0, max=10_000))
    min_items = fields.Integer(load_default=1, validate=validate.Range(min=0, max=10_000))


class ItemSchema(Schema):
    key = fields.String(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_]{0,39}$"))
    label = fields.String(required=True, validate=validate.Length(min=1, max=200))
    measure = fields.String(required=True, validate=validate.OneOf(MEASURES))
    per = fields.String(load_default="once", validate=validate.OneOf(("once", "each")))
    points = fields.Float(required=True, validate=validate.Range(min=0, min_inclusive=False, max=100))
    status = fields.String(load_default="I", validate=validate.OneOf(STATUS_MARKS))
    params = fields.Nested(ItemParams, load_default=lambda: ItemParams().load({}))

    @validates_schema
    def _measure_params(self, data: dict[str, Any], **_: Any) -> None:
        p, m = data.get("params") or {}, data.get("measure")
        need = {"findings": "finding_kinds", "no_post_days": "days", "original_share_below": "share"}
        need["reply_rate_below"] = "rate"
        key = need.get(m or "")
        if key and not p.get(key):
            raise ValidationError(f"扣分方式 {m} 需要参数 params.{key}", "params")
        if m != "findings" and data.get("per") == "each":
            raise ValidationError("只有按问题线索计的扣分项（findings）可以逐条扣分（per: each）", "per")


class IndicatorSchema(Schema):
    key = fields.String(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_]{0,39}$"))
    label = fields.String(required=True, validate=validate.Length(min=1, max=200))
    points = fields.Float(required=True, validate=validate.Range(min=0, min_inclusive=False, max=1000))
    items = fields.List(fields.Nested(ItemSchema), required=True, validate=validate.Length(min=1, max=100))

    @validates_schema
    def _items_within_cap(self, data: dict[str, Any], **_: Any) -> None:
        for item in data.get("items") or []:
            if item["points"] > data["points"]:
                raise ValidationError(f"扣分项「{item['label']}」的分值超过指标「{data['label']}」的分值", "items")


class RulesSchema(Schema):
    version = fields.String(required=True, validate=validate.Regexp(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,39}$"))
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    sources = fields.List(fields.Nested(SourceSchema), required=True, validate=validate.Length(min=1, max=50))
    pass_line = fields.Float(load_default=60, validate=validate.Range(min=0, max=1000))
    full_marks = fields.Float(load_default=100, validate=validate.Range(min=1, max=1000))
    finding_statuses = fields.List(
        fields.String(validate=validate.OneOf(FINDING_STATUSES)), load_default=lambda: list(FINDING_STATUSES)
    )
    veto = fields.List(fields.Nested(VetoSchema), required=True)
    indicators = fields.List(fields.Nested(IndicatorSchema), required=True, validate=validate.Length(min=1, max=50))

    @validates_schema
    def _whole(self, data: dict[str, Any], **_: Any) -> None:
        vetoes = [v["key"] for v in data.get("veto") or []]
        if len(vetoes) != len(set(vetoes)):
            raise ValidationError("单项否决指标重复", "veto")
        indicators = data.get("indicators") or []
        keys = [i["key"] for i in indicators]
        if len(keys) != len(set(keys)):
            raise ValidationError("指标编码重复", "indicators")
        items = [it["key"] for i in indicators for it in i["items"]]
        if len(items) != len(set(items)):
            raise ValidationError("扣分项编码重复", "indicators")
        total = round(sum(i["points"] for i in indicators), 6)
        if total != round(data.get("full_marks", 100), 6):
            raise ValidationError(
                f"各指标分值之和为 {total:g}，应等于满分 {data.get('full_marks', 100):g}", "indicators"
            )
        if data.get("pass_line", 60) > data.get("full_marks", 100):
            raise ValidationError("合格线不能高于满分", "pass_line")


@dataclass(frozen=True)
class Rules:
    version: str
    data: dict[str, Any]
    text: str
    sha256: str

    @property
    def pass_line(self) -> float:
        return float(self.data["pass_line"])

    @property
    def full_marks(self) -> float:
        return float(self.data["full_marks"])

    def veto(self, key: str) -> dict[str, Any] | None:
        return next((v for v in self.data["veto"] if v["key"] == key), None)


def parse(text: str) -> Rules:
    """Validate a rules file's text; :class:`RulesError` lists every problem."""
    if len(text.encode("utf-8")) > MAX_RULES_BYTES:
        raise RulesError(f"规则文件超过 {MAX_RULES_BYTES // 1024} KB")
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"（第 {mark.line + 1} 行）" if mark is not None else ""
        raise RulesError(f"规则文件不是有效的 YAML{where}", {"yaml": str(exc)[:500]}) from None
    if not isinstance(raw, dict):
        raise RulesError("规则文件的顶层应是键值表（version、veto、indicators……）")
    try:
        data = RulesSchema().load(raw)
    except ValidationError as exc:
        raise RulesError("规则文件校验未通过", {"fields": _zh(exc.normalized_messages())}) from None
    return Rules(version=data["version"], data=data, text=text, sha256=hashlib.sha256(text.encode("utf-8")).hexdigest())


_ZH = (
    (re.compile(r"^Missing data for required field\.$"), "缺少必填项"),
    (re.compile(r"^Unknown field\.$"), "未知字段"),
    (re.compile(r"^Must be one of: (.*)\.$"), r"取值应为以下之一：\1"),
    (re.compile(r"^Longer than maximum length (\d+)\.$"), r"超过上限 \1"),
    (re.compile(r"^Shorter than minimum length (\d+)\.$"), r"少于下限 \1"),
    (re.compile(r"^Must be (greater|less) than.*$"), "数值超出允许范围"),
    (re.compile(r"^Not a valid (\w+)\.$"), "数据类型不正确"),
    (re.compile(r"^String does not match expected pattern\.$"), "格式不正确（编码只能用小写字母、数字和下划线）"),
    (re.compile(r"^Invalid (type|input)\.$"), "数据类型不正确"),
)


def _zh(messages: Any) -> Any:
    """marshmallow's English messages in Chinese (the ones this schema can produce)."""
    if isinstance(messages, dict):
        return {str(k): _zh(v) for k, v in messages.items()}
    if isinstance(messages, list):
        return [_zh(m) for m in messages]
    if isinstance(messages, str):
        for pattern, repl in _ZH:
            if pattern.match(messages):
                return pattern.sub(repl, messages)
    return messages


def load_default() -> Rules:
    return parse(DEFAULT_RULES_PATH.read_text(encoding="utf-8"))


# ----------------------------------------------------------------------------- facts and method


@dataclass
class FactFinding:
    id: int
    kind: str
    check_kinds: frozenset[str] = frozenset()
    post_ids: tuple[str, ...] = ()
    live_post_id: int | None = None
    message: str = ""


@dataclass
class Facts:
    """What the method needs about one account in one period (service.py gathers it)."""

    checkpoint: datetime
    findings: list[FactFinding] = field(default_factory=list)
    #: post times (naive UTC) within the look-back window before the checkpoint; None = no data
    post_times: list[datetime] | None = None
    last_post_at: datetime | None = None
    fraud: list[dict[str, Any]] = field(default_factory=list)
    posts: int = 0
    original_posts: int = 0
    items_received: int = 0
    items_answered: int = 0


def _evidence(found: list[FactFinding]) -> dict[str, Any]:
    return {
        "finding_ids": [f.id for f in found],
        "post_ids": sorted({p for f in found for p in f.post_ids}),
        "live_post_ids": sorted({f.live_post_id for f in found if f.live_post_id is not None}),
    }


def _matching(facts: Facts, kinds: list[str], check_kinds: list[str] | None = None) -> list[FactFinding]:
    out = []
    for f in facts.findings:
        if f.kind not in kinds:
            continue
        if check_kinds and not (f.check_kinds & set(check_kinds)):
            continue
        out.append(f)
    return out


def posted_within(facts: Facts, days: int) -> bool | None:
    """Whether the account posted in the ``days`` before the checkpoint (None: no data at all)."""
    since = facts.checkpoint - timedelta(days=days)
    times = list(facts.post_times or [])
    if facts.last_post_at is not None and facts.last_post_at <= facts.checkpoint:
        times.append(facts.last_post_at)
    if any(since < t <= facts.checkpoint for t in times):
        return True
    if facts.post_times is None and facts.last_post_at is None:
        return None
    return False


def _veto_hits(rules: Rules, facts: Facts) -> tuple[list[dict[str, Any]], list[str]]:
    hits: list[dict[str, Any]] = []
    gaps: list[str] = []
    for v in rules.data["veto"]:
        p, key = v["params"], v["key"]
        reason, found, extra = None, [], {}
        if key == "security":
            found = _matching(facts, ["post_check_hit"], p["check_kinds"]) if p["check_kinds"] else []
            found += _matching(facts, p["finding_kinds"])
            if found:
                reason = "；".join(f.message for f in found[:3] if f.message) or f"{len(found)} 条安全类问题"
        elif key == "no_update":
            posted = posted_within(facts, p["days"])
            if posted is None:
                gaps.append(f"没有该账号的发布数据，无法判定检查点前 {p['days']} 天是否更新")
            elif not posted:
                last = facts.last_post_at
                reason = f"检查点前 {p['days']} 天内没有发布内容" + (
                    f"（最后发布于 {_bj(last)}）" if last is not None else "（未发现任何发布）"
                )
                found = _matching(facts, ["inactive_14d", "zombie_90d"])
        elif key == "interaction":
            found = _matching(facts, p["finding_kinds"])
            if found:
                reason = "；".join(f.message for f in found[:3] if f.message) or "互动回应差"
        elif key == "fraud" and facts.fraud:
            reason = "；".join(f"{r['kind_label']}：{r['note']}" for r in facts.fraud[:3])
            extra = {"fraud_ids": [r["id"] for r in facts.fraud]}
        if reason:
            hits.append({"key": key, "label": v["label"], "reason": reason, "evidence": {**_evidence(found), **extra}})
    return hits, gaps


def _bj(value: datetime) -> str:
    return bj(value)


def _item_deduction(item: dict[str, Any], facts: Facts) -> tuple[int, str, list[FactFinding]] | None:
    """(count, reason, findings) when the item applies."""
    p, m = item["params"], item["measure"]
    if m == "findings":
        found = _matching(facts, p["finding_kinds"], p["check_kinds"] or None)
        if not found:
            return None
        count = len(found) if item["per"] == "each" else 1
        return count, "；".join(f.message for f in found[:3] if f.message) or f"{len(found)} 条问题线索", found
    if m == "no_post_days":
        if posted_within(facts, p["days"]) is False:
            return 1, f"检查点前 {p['days']} 天内没有发布内容", _matching(facts, ["inactive_warning", "inactive_14d"])
        return None
    if m == "original_share_below":
        if facts.posts >= max(p["min_posts"], 1):
            share = facts.original_posts / facts.posts
            if share < p["share"]:
                return 1, f"本期原创 {facts.original_posts}/{facts.posts} 条（{share:.0%}），低于 {p['share']:.0%}", []
        return None
    if m == "reply_rate_below":
        if facts.items_received >= max(p["min_items"], 1):
            rate = facts.items_answered / facts.items_received
            if rate < p["rate"]:
                got = f"{facts.items_answered}/{facts.items_received}"
                return 1, f"本期留言回复 {got} 条（{rate:.0%}），低于 {p['rate']:.0%}", []
        return None
    raise AssertionError(m)  # the schema admits only MEASURES


@dataclass
class Outcome:
    vetoed: bool
    veto_items: list[dict[str, Any]]
    deductions: list[dict[str, Any]]
    indicators: list[dict[str, Any]]
    total: float
    passed: bool
    data_gaps: list[str]


def evaluate(rules: Rules, facts: Facts) -> Outcome:
    veto_items, gaps = _veto_hits(rules, facts)
    deductions: list[dict[str, Any]] = []
    indicators: list[dict[str, Any]] = []
    deducted = 0.0
    for ind in rules.data["indicators"]:
        raw = 0.0
        for item in ind["items"]:
            hit = _item_deduction(item, facts)
            if hit is None:
                continue
            count, reason, found = hit
            points = item["points"] * count
            raw += points
            deductions.append(
                {
                    "indicator": ind["key"],
                    "indicator_label": ind["label"],
                    "item": item["key"],
                    "label": item["label"],
                    "count": count,
                    "points": points,
                    "reason": reason,
                    "evidence": _evidence(found),
                }
            )
        applied = min(raw, ind["points"])
        deducted += applied
        indicators.append(
            {"key": ind["key"], "label": ind["label"], "points": ind["points"], "raw": raw, "applied": applied}
        )
    total = round(max(rules.full_marks - deducted, 0.0), 2)
    vetoed = bool(veto_items)
    return Outcome(
        vetoed=vetoed,
        veto_items=veto_items,
        deductions=deductions,
        indicators=indicators,
        total=total,
        passed=not vetoed and total >= rules.pass_line,
        data_gaps=gaps,
    )
