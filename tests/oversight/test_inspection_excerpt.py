"""The excerpt a check finding shows of its post (pure logic: no database)."""

from oversight.inspection.judge import EXCERPT_CONTEXT, hit_excerpt


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
