"""The excerpt a check finding shows of its post, how stored links are compared, evidence and messages
in words (pure logic: no database)."""

import json

from common.bulk import json_text
from common.timefmt import keep_dates
from oversight.evidence_text import readable
from oversight.inspection.coverage import error_text
from oversight.inspection.judge import EXCERPT_CONTEXT, hit_excerpt
from oversight.inspection.posts import _same_links


def _hit(field: str, start: int, end: int) -> dict[str, object]:
    return {"field": field, "start": start, "end": end, "severity": "block"}


def test_a_hit_in_a_long_post_is_shown_with_its_context_only():
    text = "甲" * 100 + "中华人民共合国" + "乙" * 100
    got = hit_excerpt("", text, [_hit("body", 100, 107)])
    assert got == "……" + "甲" * EXCERPT_CONTEXT + "【中华人民共合国】" + "乙" * EXCERPT_CONTEXT + "……"


def test_near_hits_share_one_window_and_far_ones_get_their_own():
    text = "一二三四五" * 40  # 200 characters
    got = hit_excerpt("", text, [_hit("body", 10, 12), _hit("body", 20, 22), _hit("body", 150, 152)])
    first, second = got.split(" ")
    assert first.startswith(text[:10]) and first.count("【") == 2  # the post's start: no …… before it
    assert second.startswith("……") and second.count("【") == 1 and second.endswith("……")


def test_title_hits_are_labelled_and_overlapping_hits_marked_once():
    got = hit_excerpt("关于中华人民共合国的通知", "正文", [_hit("title", 2, 9), _hit("title", 4, 6)])
    assert got == "标题：关于【中华人民共合国】的通知"


def test_hits_without_a_usable_span_are_left_out():
    assert hit_excerpt("", "正文", [{"field": "body", "start": None, "end": None}, _hit("body", 5, 9)]) == ""


def test_stored_links_are_compared_by_value_whatever_wrote_them():
    """A post's links as the bulk insert writes them (compact) and as an UPDATE through SQLAlchemy
    writes them (the standard library's spacing) both read as unchanged; other links do not."""
    links = ("https://a.example/1", "https://b.example/政务")
    assert _same_links(json_text(list(links)), links)
    assert _same_links(json.dumps(list(links)), links)  # '["…", "…"]' with \\u escapes
    assert not _same_links(json_text(list(links[:1])), links)
    assert _same_links("[]", ()) and not _same_links(json_text(list(links)), ())


def test_a_found_accounts_unit_match_reads_in_words():
    """The evidence of an unregistered account whose unit nobody could match said “none”."""
    rows = dict(readable({"unit_resolution": "none", "candidate_units": []}))
    assert rows["单位匹配方式"] == "未匹配到单位" and rows["候选单位"] == "无"
    assert dict(readable({"unit_resolution": "place_variant"}))["单位匹配方式"] == "地名变体一致"


def test_dates_in_a_message_stay_on_one_line_and_the_rest_is_escaped():
    got = str(keep_dates("巡检于2026-12-07在平台上发现 <b>"))
    assert got == '巡检于<span class="nowrap">2026-12-07</span>在平台上发现 &lt;b&gt;'
    assert str(keep_dates(None)) == ""


def test_a_read_error_shows_the_platforms_numeric_code_only():
    assert error_text({"type": "AdapterError", "code": 40001, "message": "access_token 无效"}) == (
        "access_token 无效（平台错误码 40001）"
    )
    assert error_text({"type": "TransientError", "code": "-1", "message": "系统繁忙"}) == "系统繁忙（平台错误码 -1）"
    # our own codes are not the platform's and mean nothing to the reader
    assert error_text({"type": "RateLimited", "code": "local_rate_limit", "message": "已达本平台的调用频率上限"}) == (
        "已达本平台的调用频率上限"
    )
    assert error_text({"code": "missing_credentials"}) == "读取失败"
