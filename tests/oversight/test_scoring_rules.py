"""The scoring method over hand-computed facts (pure logic, no database): each veto item, caps,
the pass line, and validation of the rules file."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import yaml

from oversight.scoring import rules as R

CP = datetime(2026, 12, 31, 16, 0)  # 2027-01-01 00:00 Beijing


def default():
    return R.load_default()


def facts(**kw):
    base = {"checkpoint": CP, "post_times": [CP - timedelta(days=2)], "posts": 10, "original_posts": 8}
    base.update(kw)
    return R.Facts(**base)


def hit(i, kind="post_check_hit", checks=(), post="p1"):
    return R.FactFinding(id=i, kind=kind, check_kinds=frozenset(checks), post_ids=(post,), message=f"线索{i}")


def test_default_rules_file_is_valid_and_sums_to_100():
    rules = default()
    assert rules.version == "2026.12-default"
    assert sum(i["points"] for i in rules.data["indicators"]) == 100
    assert {v["key"] for v in rules.data["veto"]} == set(R.VETO_KEYS)
    assert rules.pass_line == 60


def test_clean_account_scores_100_and_passes():
    out = R.evaluate(default(), facts())
    assert (out.vetoed, out.total, out.passed, out.deductions) == (False, 100, True, [])


@pytest.mark.parametrize("check", ["secrecy", "serious_error", "sensitive"])
def test_security_veto_from_a_check_hit_fails_with_full_points(check):
    out = R.evaluate(default(), facts(findings=[hit(7, checks=[check])]))
    assert out.vetoed and not out.passed
    assert out.total == 100  # the deduction part lost nothing, the veto alone fails it
    [v] = out.veto_items
    assert v["key"] == "security" and v["evidence"]["finding_ids"] == [7] and v["evidence"]["post_ids"] == ["p1"]


def test_privacy_hit_is_a_deduction_not_a_veto():
    out = R.evaluate(default(), facts(findings=[hit(8, checks=["privacy"])]))
    assert not out.vetoed and out.total == 90 and out.passed
    assert out.deductions[0]["item"] == "privacy_hit" and out.deductions[0]["evidence"]["finding_ids"] == [8]


def test_no_update_in_14_days_is_a_veto_and_7_days_a_deduction():
    rules = default()
    ten_days = R.evaluate(rules, facts(post_times=[CP - timedelta(days=10)]))
    assert not ten_days.vetoed and ten_days.total == 85  # slow_update 15 points
    twenty = R.evaluate(rules, facts(post_times=[CP - timedelta(days=20)], last_post_at=CP - timedelta(days=20)))
    assert twenty.vetoed and twenty.veto_items[0]["key"] == "no_update"
    assert "最后发布于" in twenty.veto_items[0]["reason"]
    # a post after the checkpoint does not rescue the period
    late = R.evaluate(rules, facts(post_times=[], last_post_at=CP + timedelta(days=1)))
    assert late.vetoed


def test_no_data_is_a_gap_not_a_veto():
    out = R.evaluate(default(), facts(post_times=None, last_post_at=None))
    assert not out.vetoed and out.data_gaps


@pytest.mark.parametrize("kind", ["no_interaction_channel", "interaction_overdue"])
def test_interaction_veto(kind):
    out = R.evaluate(default(), facts(findings=[hit(3, kind=kind)]))
    [v] = out.veto_items
    assert out.vetoed and v["key"] == "interaction" and v["evidence"]["finding_ids"] == [3]


def test_fraud_veto_from_a_recorded_decision():
    record = {"id": 5, "kind": "bought_followers", "kind_label": "购买粉丝", "note": "经核查购买粉丝两万"}
    out = R.evaluate(default(), facts(fraud=[record]))
    assert out.vetoed and out.veto_items[0]["key"] == "fraud" and out.veto_items[0]["evidence"]["fraud_ids"] == [5]


def test_caps_per_indicator_and_the_pass_line():
    rules = default()
    # content (cap 30): 5 unreviewed × 5 = 25 + 2 privacy × 10 = 20 → 45, capped at 30
    content = [hit(i, kind="unreviewed_post", post=f"u{i}") for i in range(5)]
    content += [hit(10 + i, checks=["privacy"], post=f"v{i}") for i in range(2)]
    out = R.evaluate(rules, facts(findings=content))
    ind = {i["key"]: i for i in out.indicators}
    assert ind["content"]["raw"] == 45 and ind["content"]["applied"] == 30
    assert out.total == 70 and out.passed
    # management (cap 20): 3 duplicates × 5 + 2 mismatches × 5 = 25 → 20; total 50 < 60 fails
    mgmt = [hit(20 + i, kind="duplicate", post="") for i in range(3)]
    mgmt += [hit(30, kind="name_mismatch", post=""), hit(31, kind="subject_mismatch", post="")]
    out = R.evaluate(rules, facts(findings=content + mgmt))
    assert {i["key"]: i["applied"] for i in out.indicators}["management"] == 20
    assert out.total == 50 and not out.passed and not out.vetoed


def test_original_share_and_reply_rate_deductions():
    out = R.evaluate(default(), facts(posts=10, original_posts=1, items_received=10, items_answered=5))
    assert {d["item"] for d in out.deductions} == {"low_original", "low_reply_rate"}
    assert out.total == 85


def _edit(mutate):
    data = yaml.safe_load(R.DEFAULT_RULES_PATH.read_text(encoding="utf-8"))
    mutate(data)
    return yaml.safe_dump(data, allow_unicode=True)


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda d: d["indicators"][0].update(points=35), "应等于满分"),
        (lambda d: d["indicators"][0]["items"][0].update(measure="followers_rank"), "measure"),
        (lambda d: d["indicators"][0]["items"][0].update(points=99), "超过指标"),
        (lambda d: d["veto"].append(d["veto"][0]), "单项否决指标重复"),
        (lambda d: d.pop("version"), "version"),
        (lambda d: d["indicators"][2]["items"][0]["params"].update(finding_kinds=["nope"]), "finding_kinds"),
    ],
)
def test_invalid_rules_are_refused_with_reasons(mutate, needle):
    with pytest.raises(R.RulesError) as exc:
        R.parse(_edit(mutate))
    assert needle in str(exc.value.details)


def test_not_yaml_is_refused():
    with pytest.raises(R.RulesError, match="YAML"):
        R.parse("version: [unclosed")
    with pytest.raises(R.RulesError, match="顶层"):
        R.parse("- a\n- b\n")
