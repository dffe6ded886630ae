"""Reconciliation of discovered accounts against the registry (oversight/reconcile.py)."""

from __future__ import annotations

import json
import random
from datetime import date, datetime

import pytest

from oversight.reconcile import (
    KINDS,
    ReconRecord,
    RegisteredAccount,
    Thresholds,
    UnitRef,
    is_government_subject,
    normalise_name,
    reconcile,
)

REGION = "浙江省杭州市西湖区"
UNITS = [
    UnitRef(1, "西湖区人民政府", region=REGION),
    UnitRef(2, "西湖区教育局", region=REGION),
    UnitRef(3, "西湖区人力资源和社会保障局", region=REGION),
    UnitRef(4, "中共西湖区委宣传部", region=REGION, aliases=("西湖区委网信办",)),
    UnitRef(5, "西湖区融媒体中心", region=REGION),
    UnitRef(6, "西湖区转塘街道办事处", region=REGION),
    UnitRef(7, "上城区教育局", region="浙江省杭州市上城区"),
]


def acct(
    id: int,
    platform: str,
    uid: str,
    name: str,
    unit_id: int,
    *,
    status: str = "active",
    closed_on: date | None = None,
    subject: str | None = None,
    duplicate_reason: str | None = None,
) -> RegisteredAccount:
    unit = next(u for u in UNITS if u.id == unit_id)
    return RegisteredAccount(
        id, platform, uid, name, unit_id, subject or unit.name, status, unit.region, closed_on, duplicate_reason
    )


REGISTERED = [
    acct(10, "weibo", "1001", "西湖发布", 1),
    acct(11, "wechat", "gh_a1", "西湖发布", 1),
    acct(12, "weibo", "1002", "西湖教育", 2),
    acct(13, "douyin", "dy1", "西湖人社", 3),
    acct(14, "wechat", "gh_b2", "西湖宣传", 4),
    acct(15, "weibo", "1003", "转塘街道", 6),
    acct(16, "weibo", "1004", "上城教育", 7),
]


def rec(key: str, platform: str, uid: str | None, name: str, subject: str | None, **kw: object) -> ReconRecord:
    return ReconRecord(key, platform, uid, name, subject, **kw)  # type: ignore[arg-type]


def copies(registered: list[RegisteredAccount]) -> list[ReconRecord]:
    units = {u.id: u for u in UNITS}
    return [
        rec(f"k{a.id}", a.platform, a.uid, a.name, units[a.unit_id].name, verified=True)
        for a in registered
        if a.status not in ("closed", "closed_on_platform")
    ]


def kinds(result) -> list[tuple[str, str | None, int | None]]:
    return [(f.kind, f.discovered_key, f.account_id) for f in result.findings]


# ------------------------------------------------------------------------------ normalisation


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("ＸＸ县发布", "XX县发布"),
        ("ＸＸ县发布", "xx县"),
        ("西湖发布", "西湖 发布"),
        ("「西湖教育」官微", "西湖教育"),
        ("西湖教育官方微博", "西湖教育"),
        ("西湖教育发布官微", "西湖教育"),
        ("湖德乡发布官微发布", "湖德乡发布官微"),
        ("西湖１２３４５", "西湖12345"),
        ("ｉ西湖", "i西湖"),
        ("XX县人民政府", "XX县政府"),
        ("XX县人民政府办公室", "XX县政府办"),
        ("中共XX县委员会宣传部", "XX县委宣传部"),
        ("中国共产党XX县委员会", "中共XX县委"),
        ("XX县人民代表大会常务委员会", "XX县人大常委会"),
        ("XX县转塘街道办事处", "XX县转塘街道"),
        ("共青团XX县委员会", "中国共产主义青年团XX县委员会"),
        ("XX县人民法院", "XX县法院"),
    ],
)
def test_normalise_equivalent(a: str, b: str) -> None:
    assert normalise_name(a) == normalise_name(b)


@pytest.mark.parametrize(("a", "b"), [("西湖县教育局", "西湖区教育局"), ("西湖发布", "东湖发布"), ("和田县", "和田市")])
def test_normalise_keeps_differences(a: str, b: str) -> None:
    assert normalise_name(a) != normalise_name(b)


def test_normalise_keeps_two_characters() -> None:
    assert normalise_name("发布") == "发布"
    assert normalise_name("政务发布") == "政务"
    assert len(normalise_name("发布" * 3000)) == 2


@pytest.mark.parametrize(
    "subject",
    [
        "西湖区人民政府",
        "杭州市西湖区教育局",
        "中共杭州市西湖区委员会宣传部",
        "西湖区融媒体中心",
        "西湖区转塘街道办事处",
        "西湖区人民法院",
        "西湖区人民检察院",
        "国家税务总局杭州市西湖区税务局",
        "共青团杭州市西湖区委员会",
        "西湖区妇女联合会",
        "西湖区科学技术协会",
        "杭州市公安局西湖区分局",
        "西湖区疾病预防控制中心",
        "西湖区市场监督管理局",
        "国务院办公厅",
        "ＸＸ县人民政府",
    ],
)
def test_government_subjects(subject: str) -> None:
    assert is_government_subject(subject)


@pytest.mark.parametrize(
    "subject",
    [
        "",
        None,
        "张伟",
        "西湖小李",
        "杭州西湖教育科技有限公司",
        "西湖区文化传媒有限公司",
        "杭州银行西湖支行",
        "西湖区摄影家协会",
        "西湖区美容中心",
        "西湖区销售部",
        "西湖发布",
    ],
)
def test_non_government_subjects(subject: str | None) -> None:
    assert not is_government_subject(subject)


# ------------------------------------------------------------------------------ phase 1


def test_exact_match_no_findings() -> None:
    result = reconcile(UNITS, REGISTERED, copies(REGISTERED))
    assert result.findings == []
    assert sorted(result.matched) == sorted((f"k{a.id}", a.id) for a in REGISTERED)
    assert result.stats["matched_by_uid"] == len(REGISTERED)
    assert result.stats["unmatched"] == 0


def test_benign_name_and_subject_variants_are_not_flagged() -> None:
    discovered = [
        rec("a", "weibo", "1001", "西湖发布官微", "西湖区政府"),
        rec("b", "wechat", "gh_a1", "「西湖 发布」", "杭州市西湖区人民政府"),
        rec("c", "weibo", "1002", "西湖区教育", "西湖区教育局"),
        rec("d", "wechat", "gh_b2", "西湖宣传", "中共西湖区委员会宣传部"),
        rec("e", "weibo", "1003", "转塘街道发布", "杭州市西湖区转塘街道办事处"),
        rec("f", "douyin", "dy1", "西湖人社", None),
        rec("g", "wechat", "gh_b2", "西湖宣传", "西湖区委网信办"),  # an alias of the unit
    ]
    assert reconcile(UNITS, REGISTERED, discovered).findings == []


def test_fullwidth_name_variant_matches() -> None:
    units = [UnitRef(1, "ＸＸ县人民政府")]
    registered = [RegisteredAccount(1, "weibo", "9", "XX县发布", 1, "XX县人民政府", "active")]
    discovered = [rec("a", "weibo", "9", "ＸＸ县发布", "ＸＸ县人民政府")]
    result = reconcile(units, registered, discovered)
    assert result.findings == []
    assert result.matched == [("a", 1)]


def test_name_mismatch() -> None:
    discovered = [rec("a", "weibo", "1002", "西湖好声音", "西湖区教育局")]
    result = reconcile(UNITS, REGISTERED, discovered)
    assert kinds(result) == [("name_mismatch", "a", 12)]
    f = result.findings[0]
    assert f.unit_id == 2
    assert f.evidence["registered_name"] == "西湖教育"
    assert f.evidence["platform_name"] == "西湖好声音"
    assert f.evidence["score"] < 88
    assert 0.5 <= f.confidence <= 1.0
    assert "名称" in f.evidence["message"]


def test_name_threshold_is_a_setting() -> None:
    discovered = [rec("a", "weibo", "1002", "西湖教育局", "西湖区教育局")]
    assert reconcile(UNITS, REGISTERED, discovered).findings == []
    strict = reconcile(UNITS, REGISTERED, discovered, Thresholds(name_match=100.0))
    assert kinds(strict) == [("name_mismatch", "a", 12)]


def test_subject_mismatch_other_unit() -> None:
    discovered = [rec("a", "weibo", "1002", "西湖教育", "西湖区融媒体中心")]
    result = reconcile(UNITS, REGISTERED, discovered)
    assert kinds(result) == [("subject_mismatch", "a", 12)]
    ev = result.findings[0].evidence
    assert ev["subject_unit_id"] == 5
    assert ev["unit_name"] == "西湖区教育局"
    assert result.findings[0].confidence >= 0.9


def test_subject_mismatch_company_operator() -> None:
    discovered = [rec("a", "douyin", "dy1", "西湖人社", "杭州西湖文化传媒有限公司")]
    result = reconcile(UNITS, REGISTERED, discovered)
    assert kinds(result) == [("subject_mismatch", "a", 13)]
    assert result.findings[0].evidence["subject_is_government"] is False


def test_subject_mismatch_other_place_same_body() -> None:
    discovered = [rec("a", "weibo", "1002", "西湖教育", "上城区教育局")]
    result = reconcile(UNITS, REGISTERED, discovered)
    assert kinds(result) == [("subject_mismatch", "a", 12)]
    assert result.findings[0].evidence["place_differs"] is True


def test_subject_with_foreign_city_prefix_is_a_mismatch() -> None:
    discovered = [rec("a", "weibo", "1002", "西湖教育", "宁波市西湖区教育局")]
    assert kinds(reconcile(UNITS, REGISTERED, discovered)) == [("subject_mismatch", "a", 12)]


def test_closed_but_active_posting_after_closure() -> None:
    registered = [*REGISTERED, acct(20, "toutiao", "tt1", "西湖教育", 2, status="closed", closed_on=date(2025, 3, 1))]
    discovered = [rec("a", "toutiao", "tt1", "西湖教育", "西湖区教育局", last_post_at=datetime(2025, 6, 1, 9))]
    result = reconcile(UNITS, registered, discovered)
    assert kinds(result) == [("closed_but_active", "a", 20)]
    f = result.findings[0]
    assert f.confidence == 1.0
    assert f.evidence["posted_after_closure"] is True
    assert f.evidence["closed_on"] == "2025-03-01"


def test_closed_but_reachable_is_low_confidence_and_deregistered_is_ignored() -> None:
    registered = [
        acct(20, "toutiao", "tt1", "西湖教育", 2, status="closed_on_platform", closed_on=date(2025, 3, 1)),
        acct(21, "toutiao", "tt2", "西湖人社", 3, status="closed", closed_on=date(2025, 3, 1)),
    ]
    discovered = [
        rec("a", "toutiao", "tt1", "西湖教育", "西湖区教育局", last_post_at=datetime(2025, 2, 1)),
        rec("b", "toutiao", "tt2", "西湖人社", None, platform_status="deregistered"),
    ]
    result = reconcile(UNITS, registered, discovered)
    assert kinds(result) == [("closed_but_active", "a", 20)]
    assert result.findings[0].confidence < 0.7
    off = reconcile(UNITS, registered, discovered, Thresholds(flag_reachable_closed=False))
    assert off.findings == []


def test_reopened_needs_history() -> None:
    registered = [acct(20, "toutiao", "tt1", "西湖教育", 2, status="closed", closed_on=date(2025, 3, 1))]
    discovered = [rec("a", "toutiao", "tt1", "西湖教育", "西湖区教育局", last_post_at=datetime(2025, 6, 1))]
    # No history: closed_but_active, never reopened.
    assert kinds(reconcile(UNITS, registered, discovered)) == [("closed_but_active", "a", 20)]
    # Present in the previous run too: still closed_but_active.
    seen = {("toutiao", "tt1")}
    assert kinds(reconcile(UNITS, registered, discovered, previously_seen=seen)) == [("closed_but_active", "a", 20)]
    # Absent in the previous run, back now: reopened.
    result = reconcile(UNITS, registered, discovered, previously_seen=set())
    assert kinds(result) == [("reopened", "a", 20)]
    assert result.findings[0].evidence["previously_seen"] is False


def test_closed_accounts_skip_name_and_subject_checks() -> None:
    registered = [acct(20, "toutiao", "tt1", "西湖教育", 2, status="closed", closed_on=date(2025, 3, 1))]
    discovered = [rec("a", "toutiao", "tt1", "完全不同", "某某有限公司", platform_status="deregistered")]
    assert reconcile(UNITS, registered, discovered).findings == []


# ------------------------------------------------------------------------------ phase 2


def test_unregistered_government_account_names_the_unit() -> None:
    discovered = [
        *copies(REGISTERED),
        rec("new", "douyin", "dy9", "西湖教育", "西湖区教育局", verified=True, region=REGION),
    ]
    result = reconcile(UNITS, REGISTERED, discovered)
    assert kinds(result) == [("unregistered", "new", None)]
    f = result.findings[0]
    assert f.unit_id == 2
    assert f.confidence >= 0.9
    assert f.evidence["unit_name"] == "西湖区教育局"
    assert f.evidence["unit_resolution"] == "exact"
    assert "体外运行" in f.evidence["message"]


@pytest.mark.parametrize(
    ("subject", "unit_id", "method"),
    [
        ("杭州市西湖区教育局", 2, "place_variant"),
        ("西湖区人力资源社会保障局", 3, "fuzzy"),
        ("西湖区政府", 1, "exact"),
        ("中共杭州市西湖区委员会宣传部", 4, "place_variant"),
    ],
)
def test_unregistered_subject_variants(subject: str, unit_id: int, method: str) -> None:
    discovered = [rec("new", "kuaishou", "ks1", "西湖", subject, verified=True)]
    result = reconcile(UNITS, REGISTERED, discovered)
    assert kinds(result) == [("unregistered", "new", None)]
    assert result.findings[0].unit_id == unit_id
    assert result.findings[0].evidence["unit_resolution"] == method


def test_same_named_place_elsewhere_is_not_ours() -> None:
    discovered = [
        rec("a", "kuaishou", "ks1", "西湖教育", "宁波市西湖区教育局"),  # another city's 西湖区
        rec("b", "kuaishou", "ks2", "西湖教育", "西湖县教育局"),  # same stem, other level
        rec("c", "kuaishou", "ks3", "西湖教育", "西湖区教育局", region="吉林省"),  # exact name, region disagrees
    ]
    result = reconcile(UNITS, REGISTERED, discovered)
    assert kinds(result) == [("unregistered", "c", None)]
    assert result.findings[0].evidence["region_consistent"] is False
    assert result.findings[0].confidence < 0.6


def test_company_and_individual_not_flagged_as_unregistered() -> None:
    discovered = [
        rec("a", "douyin", "x1", "西湖教育", "杭州西湖教育科技有限公司", verified=True),
        rec("b", "douyin", "x2", "西湖发布", None),
        rec("c", "douyin", "x3", "西湖小李", "李明", verified=True),
    ]
    result = reconcile(UNITS, REGISTERED, discovered)
    assert result.findings == []
    assert result.stats["unmatched_non_government"] == 2
    assert result.stats["unmatched_no_subject"] == 1


def test_imitation_flags_are_opt_in_and_low_confidence() -> None:
    discovered = [
        rec("a", "weibo", "x1", "西湖教育", "杭州西湖教育科技有限公司", verified=True),
        rec("b", "weibo", "x2", "西湖发布", None),
    ]
    t = Thresholds(include_non_government=True, include_unverified=True)
    result = reconcile(UNITS, REGISTERED, discovered, t)
    assert kinds(result) == [("unregistered", "a", None), ("unregistered", "b", None)]
    assert all(f.confidence <= 0.3 for f in result.findings)


def test_unknown_government_unit_in_our_region() -> None:
    discovered = [
        rec("a", "weibo", "x1", "西湖水利", "西湖区水利局", region=REGION),
        rec("b", "weibo", "x2", "东湖水利", "东湖区水利局", region="湖北省武汉市东湖区"),
    ]
    result = reconcile(UNITS, REGISTERED, discovered)
    assert kinds(result) == [("unregistered", "a", None)]
    assert result.findings[0].unit_id is None
    assert result.findings[0].confidence <= 0.5
    assert reconcile(UNITS, REGISTERED, discovered, Thresholds(report_unknown_units=False)).findings == []


def test_unknown_government_unit_located_by_its_subject() -> None:
    """A platform search gives no region: the subject's own place (西湖区…) says it is ours."""
    discovered = [
        rec("a", "weibo", "x1", "西湖市场监管", "西湖区市场监督管理局"),
        rec("b", "weibo", "x2", "东湖水利", "东湖区水利局"),
        rec("c", "weibo", "x3", "杭州水利", "杭州市水利局"),  # the city above us, not one of ours
        rec("e", "weibo", "x5", "西湖水利", "宁波市西湖区水利局"),  # another city's 西湖区
        rec("d", "weibo", "x4", "西湖水利", "西湖区水利局", region="湖北省武汉市东湖区"),  # a region wins
    ]
    result = reconcile(UNITS, REGISTERED, discovered)
    assert kinds(result) == [("unregistered", "a", None)]
    assert result.findings[0].confidence <= 0.5
    assert reconcile(UNITS, REGISTERED, discovered, Thresholds(report_unknown_units=False)).findings == []


def test_duplicate_from_discovery() -> None:
    discovered = [*copies(REGISTERED), rec("dup", "weibo", "1999", "西湖教育服务", "西湖区教育局", verified=True)]
    result = reconcile(UNITS, REGISTERED, discovered)
    assert kinds(result) == [("duplicate", "dup", 12)]
    f = result.findings[0]
    assert f.unit_id == 2
    assert f.evidence["registered_accounts"][0]["id"] == 12
    assert f.evidence["registered_accounts"][0]["seen_this_run"] is True


def test_duplicate_same_name_is_lower_confidence() -> None:
    same = reconcile(UNITS, REGISTERED, [rec("dup", "weibo", "1999", "西湖教育", "西湖区教育局", verified=True)])
    other = reconcile(
        UNITS, REGISTERED, [rec("dup", "weibo", "1999", "西湖教育服务号2", "西湖区教育局", verified=True)]
    )
    assert same.findings[0].kind == other.findings[0].kind == "duplicate"
    assert same.findings[0].evidence["same_name_account_ids"] == [12]
    assert same.findings[0].confidence < other.findings[0].confidence


def test_duplicate_in_registry() -> None:
    registered = [
        *REGISTERED,
        acct(30, "weibo", "1005", "西湖教育2", 2),
        acct(31, "weibo", "1006", "西湖教育3", 2, duplicate_reason="经批准的专题账号"),
        acct(32, "weibo", "1007", "西湖教育旧号", 2, status="closed", closed_on=date(2024, 1, 1)),
    ]
    result = reconcile(UNITS, registered, [])
    assert kinds(result) == [("duplicate", None, 30)]
    f = result.findings[0]
    assert f.unit_id == 2
    assert f.evidence["primary_account"]["id"] == 12
    assert f.confidence == 1.0


def test_uidless_record_matched_by_name() -> None:
    discovered = [rec("csv1", "weibo", None, "西湖教育", "西湖区融媒体中心")]
    result = reconcile(UNITS, REGISTERED, discovered)
    assert result.matched_by_name == [("csv1", 12)]
    assert kinds(result) == [("subject_mismatch", "csv1", 12)]
    assert result.findings[0].evidence["matched_by"] == "name"


# ------------------------------------------------------------------------------ general


def _mixed_inputs() -> tuple[list[RegisteredAccount], list[ReconRecord]]:
    registered = [
        *REGISTERED,
        acct(20, "toutiao", "tt1", "西湖教育", 2, status="closed", closed_on=date(2025, 3, 1)),
        acct(30, "weibo", "1005", "西湖教育2", 2),
    ]
    discovered = [
        *copies(REGISTERED),
        rec("n1", "weibo", "1004", "上城好声音", "上城区教育局"),
        rec("n2", "douyin", "dy1", "西湖人社", "西湖区融媒体中心"),
        rec("n3", "toutiao", "tt1", "西湖教育", "西湖区教育局", last_post_at=datetime(2025, 6, 1)),
        rec("n4", "weibo", "1998", "西湖教育服务", "西湖区教育局"),
        rec("n5", "wechat", "gh_z", "转塘街道", "西湖区转塘街道办事处"),
        rec("n6", "douyin", "x1", "西湖教育", "杭州西湖教育科技有限公司"),
    ]
    return registered, discovered


def test_all_kinds_and_deterministic_order() -> None:
    registered, discovered = _mixed_inputs()
    first = reconcile(UNITS, registered, discovered, previously_seen=set())
    assert {f.kind for f in first.findings} <= set(KINDS)
    assert [f.kind for f in first.findings] == [
        "reopened",
        "unregistered",
        "duplicate",
        "duplicate",
        "subject_mismatch",
        "name_mismatch",
    ]
    rng = random.Random(3)
    for _ in range(5):
        units, reg, disc = list(UNITS), list(registered), list(discovered)
        rng.shuffle(units)
        rng.shuffle(reg)
        rng.shuffle(disc)
        again = reconcile(units, reg, disc, previously_seen=set())
        assert again.findings == first.findings
        assert [f.fingerprint for f in again.findings] == [f.fingerprint for f in first.findings]


def test_fingerprints_are_stable_and_independent_of_record_keys() -> None:
    registered, discovered = _mixed_inputs()
    a = reconcile(UNITS, registered, discovered)
    rekeyed = [
        ReconRecord("X" + r.key, r.platform, r.uid, r.name, r.subject, last_post_at=r.last_post_at) for r in discovered
    ]
    b = reconcile(UNITS, registered, rekeyed)
    assert [f.fingerprint for f in a.findings] == [f.fingerprint for f in b.findings]
    fps = [f.fingerprint for f in a.findings]
    assert len(set(fps)) == len(fps)
    assert "name_mismatch:weibo:uid=1004:account=16" in fps
    assert "duplicate:weibo:account=30" in fps
    assert "unregistered:wechat:uid=gh_z" in fps
    assert all(len(fp) <= 200 for fp in fps)


def test_repeated_record_is_reported_once() -> None:
    discovered = [rec("a", "weibo", "1002", "西湖好声音", None), rec("b", "weibo", "1002", "西湖好声音", None)]
    result = reconcile(UNITS, REGISTERED, discovered)
    assert kinds(result) == [("name_mismatch", "a", 12)]
    assert result.stats["collapsed_same_fingerprint"] == 1


def test_evidence_is_json_serialisable() -> None:
    registered, discovered = _mixed_inputs()
    result = reconcile(UNITS, registered, discovered, previously_seen=set())
    assert result.findings
    for f in result.findings:
        json.dumps(f.evidence, ensure_ascii=False)
        assert f.evidence["message"]
        assert 0.0 <= f.confidence <= 1.0
    json.dumps(result.stats)


def test_min_confidence_drops_weak_findings() -> None:
    discovered = [rec("a", "weibo", "x1", "西湖水利", "西湖区水利局", region=REGION)]
    assert reconcile(UNITS, REGISTERED, discovered, Thresholds(min_confidence=0.5)).findings == []


def test_empty_inputs() -> None:
    result = reconcile([], [], [])
    assert result.findings == []
    assert result.matched == []
    assert result.stats["discovered"] == 0
    assert reconcile(UNITS, REGISTERED, []).findings == []
    only_discovered = reconcile([], [], [rec("a", "weibo", "1", "西湖发布", "西湖区人民政府")])
    assert only_discovered.findings == []
    assert only_discovered.stats["unresolved_government"] == 1


def test_accepts_generators() -> None:
    result = reconcile(iter(UNITS), iter(REGISTERED), (r for r in copies(REGISTERED)))
    assert len(result.matched) == len(REGISTERED)


def test_ambiguous_town_is_reported_without_unit_and_resolved_by_region() -> None:
    units = [*UNITS, UnitRef(8, "上城区转塘街道办事处", region="浙江省杭州市上城区")]
    discovered = [rec("a", "douyin", "t1", "转塘发布", "转塘街道办事处", verified=True)]
    result = reconcile(units, REGISTERED, discovered)
    assert kinds(result) == [("unregistered", "a", None)]
    f = result.findings[0]
    assert f.unit_id is None
    assert f.confidence == 0.5
    assert [c["id"] for c in f.evidence["candidate_units"]] == [6, 8]
    located = [rec("a", "douyin", "t1", "转塘发布", "转塘街道办事处", verified=True, region=REGION)]
    assert [(f.kind, f.unit_id) for f in reconcile(units, REGISTERED, located).findings] == [("unregistered", 6)]


def test_ambiguous_subject_resolved_by_registered_account_name() -> None:
    units = [*UNITS, UnitRef(8, "上城区转塘街道办事处", region="浙江省杭州市上城区")]
    discovered = [rec("a", "douyin", "t1", "转塘街道", "转塘街道办事处", verified=True)]
    result = reconcile(units, REGISTERED, discovered)
    assert [(f.kind, f.unit_id) for f in result.findings] == [("unregistered", 6)]
    assert result.findings[0].evidence["unit_resolution"] == "name_tiebreak"
    assert result.findings[0].confidence < 0.9


@pytest.mark.parametrize(
    ("subject", "unit_name"),
    [
        ("红城乡人民政府", "玉清县红城乡人民政府"),
        ("西湖区住房城乡建设局", "西湖区住房和城乡建设局"),
        ("西湖区乡村振兴局", "杭州市西湖区乡村振兴局"),
        ("西湖区市场监督管理局", "杭州市西湖区市场监督管理局"),
    ],
)
def test_subject_place_parsing_keeps_matches(subject: str, unit_name: str) -> None:
    units = [UnitRef(1, unit_name, region="浙江省杭州市西湖区玉清县")]
    registered = [RegisteredAccount(1, "weibo", "9", "某账号", 1, unit_name, "active")]
    assert reconcile(units, registered, [rec("a", "weibo", "9", "某账号", subject)]).findings == []
