"""Secrecy marks (密级标志, 工作秘密, 内部资料, 未定稿, 请示) with context rules.

A mark in a marking position — standing alone at the start of a line, next to ★ or with a
保密期限, in brackets, after “密级：”, “机密级” said of this very document — blocks; the same word
in ordinary prose only warns: 保守秘密, 商业秘密, 秘密通道, 请示报告制度, and sentences *about*
secrecy rules (“机密级以上事项不得上网”, “密级分为绝密、机密、秘密三级”, a mark form quoted as an
example “如“秘密★1年””, “内部资料不得外传”, a draft cited inside 《》 in a sentence).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from moderation.checks.base import BLOCK, WARN, Row, RowCheck, ScanContext, longest_first_sorted

# Paragraph structure: a newline or a block-level HTML tag starts a new "line"; inline tags are
# transparent.  Lines are looked at only within _SEGMENT_REACH characters of a hit.
_SEGMENT_REACH = 300
_BLOCK_TAG = re.compile(
    r"<(?:/?(?:p|div|h[1-6]|li|td|th|tr|table|ul|ol|section|article|blockquote|center)|br|hr)\b[^<>]*>",
    re.IGNORECASE,
)
_INLINE_TAG = r"</?(?:span|b|strong|em|i|u|font|a|sup|sub)\b[^<>]*>"
_INLINE_TAG_RE = re.compile(_INLINE_TAG, re.IGNORECASE)
_BLANK_PREFIX = re.compile(rf"(?:\s|{_INLINE_TAG}|[【\[（(〔])*", re.IGNORECASE)
# A mark standing alone: followed by a line end, blanks, a tag, a closing bracket or ★ — not by
# sentence punctuation (“国家秘密，是指……” is a definition, not a mark).
_AFTER_HEADING = re.compile(rf"(?:{_INLINE_TAG})*(?:\s|$|<|[】\]）)〕★☆])", re.IGNORECASE)
# ★ and/or a 保密期限 after a level word: the mark form “秘密★1年”, “机密★”, “绝密 长期”.
_PERIOD = r"[ \t　]*(?:[★☆][ \t　]*)?(?:[0-9０-９一二三四五六七八九十]+[ \t　]*(?:年|个月)|长期)|[ \t　]*[★☆]"
_PERIOD_TAIL = re.compile(_PERIOD)
_LEVEL_TAIL = re.compile(_PERIOD + "|级")
_STAR_BEFORE = re.compile(r"[★☆][ \t　]*$")
_MIJI_BEFORE = re.compile(r"密级[ \t　]*[:：][ \t　]*$")
_BRACKET_OPEN = "【[（(〔"
_BRACKET_CLOSE = "】]）)〕"
# “内部资料，注意保存” as a mark: the caution phrase ends the line (“内部资料不得外传，各单位……” is a rule).
_INTERNAL_AFTER = re.compile(
    r"[ \t　，,、]*(?:注意保[存管密]|(?:请勿|严禁|不得)外传|妥善保管|仅供[^\n。，]{0,8}参考)"
    rf"[ \t　。！!]*(?:{_INLINE_TAG})*(?:$|\n|<)",
    re.IGNORECASE,
)
_PUBLIC_CONSULTATION = re.compile(
    r"公开征求|征求意见的通知|征求意见的公告|向社会(?:公众)?征求|征求社会(?:各界|公众)?意见"
)
_REQUEST_TITLE = re.compile(r"(?:[^。！？，,；;：:\s]{0,30}?关于[^。！？]{0,80}的)?请示")
_LEVEL_WORD = "(?:绝密|机密|秘密)"
_ENUM_SEP = r"[ \t　]*(?:[、，,/／]|和|与|及|或|至|以及)[ \t　]*"
# Levels listed together (“绝密、机密、秘密”, “秘密★1年、机密★5年”) are being explained, not marked.
_ENUM_AFTER = re.compile(rf"{_ENUM_SEP}[★☆]?[ \t　]*{_LEVEL_WORD}")
_ENUM_BEFORE = re.compile(rf"{_LEVEL_WORD}(?:{_PERIOD}|级)?{_ENUM_SEP}[★☆]?[ \t　]*$")
# “本文件为机密级”, “此件属秘密级”: the document says its own level (negations excluded).
_SELF_LEVEL = re.compile(r"[本此][^。！？；;\n]{0,10}(?<![不非未])(?:为|属于?|系|定为|列为|标为)[ \t　]*$")
_OPEN_QUOTES = "“‘「『\"'"
_CLOSE_QUOTES = "”’」』\"'"
_SENTENCE_PUNCT = re.compile("[。！？；;，,]")

_MESSAGES = {
    ("level", BLOCK): "疑似国家秘密密级标志“{t}”，涉密信息严禁在互联网发布",
    ("level", WARN): "含“{t}”字样，请确认内容不涉及国家秘密或工作秘密",
    ("work_secret", BLOCK): "疑似工作秘密标志“{t}”，工作秘密不得公开发布",
    ("work_secret", WARN): "含“{t}”字样，请确认内容不涉及工作秘密",
    ("internal", BLOCK): "疑似内部资料标志“{t}”，内部资料不得公开发布",
    ("internal", WARN): "含“{t}”字样，请确认该内容可以公开",
    ("draft", BLOCK): "疑似未定稿文件标志“{t}”，征求意见稿、送审稿等不得擅自公开",
    ("draft", WARN): "含“{t}”字样，请确认属于依程序公开征求意见的文件",
    ("request", BLOCK): "疑似请示类内部公文“{t}”，请示件属内部行文，不应公开发布",
    ("request", WARN): "含“{t}”字样，请确认不是内部请示件",
    ("classified", BLOCK): "疑似涉密标志“{t}”，涉密信息不得上网",
    ("classified", WARN): "含“{t}”字样，请确认内容不涉密",
}
_SUGGESTIONS = {
    BLOCK: "涉密或内部文件不得上网发布，请撤下该内容或经保密审查后删除相关标志",
    WARN: None,
}


class SecrecyCheck(RowCheck):
    kind = "secrecy"
    needs = ("secrecy",)

    def rows(self, text: str, ctx: ScanContext) -> Iterator[Row]:
        hits = longest_first_sorted(ctx.terms("secrecy"))
        consultation: bool | None = None
        for start, end, e in hits:
            cls: str = e.data
            s, t_end = start, end
            if cls == "level":
                severity, s, t_end = _level(text, start, end)
            elif cls in ("work_secret", "classified"):
                severity = BLOCK if _heading(text, start, end) or _marked(text, start) else WARN
            elif cls == "internal":
                severity = (
                    BLOCK
                    if _heading(text, start, end)
                    or _bracketed(text, start, end)
                    or (_line_start(text, start) and _INTERNAL_AFTER.match(text, end))
                    else WARN
                )
            elif cls == "draft":
                if consultation is None:
                    consultation = _public_consultation(text)
                severity = BLOCK if not consultation and _draft_marked(text, start, end) else WARN
            else:  # request
                seg_s, seg_e = _segment_start(text, start), _segment_end(text, end)
                line = _untagged(text[seg_s:seg_e])
                severity = BLOCK if line.endswith(text[start:end]) and _REQUEST_TITLE.fullmatch(line) else WARN
                if severity == BLOCK:
                    about = text.find("关于", seg_s, start)
                    s = about if about >= 0 else start
            mark = text[s:t_end]
            yield (
                s,
                t_end,
                mark,
                severity,
                _MESSAGES[(cls, severity)].format(t=mark),
                f"secrecy.{cls}" + ("" if severity == BLOCK else "_prose"),
                _SUGGESTIONS[severity],
                None,
            )


def _untagged(line: str) -> str:
    """The line without inline tags, stripped."""
    return (_INLINE_TAG_RE.sub("", line) if "<" in line else line).strip()


def _public_consultation(text: str) -> bool:
    """``_PUBLIC_CONSULTATION.search(text)``, looked for only around each “征求” (every form
    holds it, at most 5 characters after its start and 8 before its end)."""
    i = text.find("征求")
    while i >= 0:
        if _PUBLIC_CONSULTATION.search(text, max(0, i - 5), i + 10) is not None:
            return True
        i = text.find("征求", i + 1)
    return False


def _segment_start(text: str, start: int) -> int:
    seg = text.rfind("\n", 0, start) + 1
    lo = max(seg, start - _SEGMENT_REACH)
    if text.find("<", lo, start) >= 0:  # (a tag needs one)
        for m in _BLOCK_TAG.finditer(text, lo, start):
            seg = m.end()
    return seg


def _segment_end(text: str, end: int) -> int:
    nl = text.find("\n", end)
    seg = len(text) if nl < 0 else nl
    hi = min(seg, end + _SEGMENT_REACH)
    m = _BLOCK_TAG.search(text, end, hi) if text.find("<", end, hi) >= 0 else None
    return m.start() if m is not None else seg


def _line_start(text: str, start: int) -> bool:
    """Only blanks, inline tags or an opening bracket between the line/paragraph start and here."""
    return _BLANK_PREFIX.fullmatch(text, _segment_start(text, start), start) is not None


def _heading(text: str, start: int, end: int) -> bool:
    """At the start of a line and followed by nothing, a separator, a bracket or ★."""
    return _line_start(text, start) and _AFTER_HEADING.match(text, end) is not None


def _bracketed(text: str, start: int, end: int) -> bool:
    return start > 0 and end < len(text) and text[start - 1] in _BRACKET_OPEN and text[end] in _BRACKET_CLOSE


def _marked(text: str, start: int) -> bool:
    lo = max(0, start - 8)
    return _STAR_BEFORE.search(text, lo, start) is not None or _MIJI_BEFORE.search(text, lo, start) is not None


def _level(text: str, start: int, end: int) -> tuple[str, int, int]:
    """绝密/机密/秘密: block (with the span widened over ★ and the period) when it is a mark.

    Mark forms: ★ before or after, a 保密期限 (“秘密★1年”, “机密 长期”) — unless quoted as an
    example; “密级：秘密”; the word alone at the head of a line or in brackets; “X级” standing
    alone or said of the document itself.  Lists of levels and “机密级以上……” are prose."""
    s, e = start, end
    m = _STAR_BEFORE.search(text, max(0, start - 4), start)
    if m is not None:
        s = m.start()
    tail = _LEVEL_TAIL.match(text, end)
    if tail is not None:
        e = tail.end()
    if _ENUM_AFTER.match(text, e) or _ENUM_BEFORE.search(text, max(0, s - 16), s):
        block = False
    elif m is not None or _PERIOD_TAIL.match(text, end) is not None:  # a mark form
        block = not _quoted(text, s, e)
    else:
        block = (
            _MIJI_BEFORE.search(text, max(0, start - 8), start) is not None
            or _heading(text, start, e)
            or _bracketed(text, start, e)
            or (e > end and _SELF_LEVEL.search(text, max(0, start - 16), start) is not None)
        )
    return (BLOCK if block else WARN), s, e


def _quoted(text: str, start: int, end: int) -> bool:
    """Inside quotation marks: cited as an example (“标注“秘密★1年”字样”), not a mark."""
    return start > 0 and end < len(text) and text[start - 1] in _OPEN_QUOTES and text[end] in _CLOSE_QUOTES


def _draft_marked(text: str, start: int, end: int) -> bool:
    """征求意见稿 on its own line, or in brackets in a title line or outside a 《》 citation."""
    if _heading(text, start, end):
        return True
    if not _bracketed(text, start, end):
        return False
    seg_s, seg_e = _segment_start(text, start), _segment_end(text, end)
    line = _untagged(text[seg_s:seg_e])
    if len(line) <= 100 and _SENTENCE_PUNCT.search(line) is None:
        return True  # a title line
    opened = text.rfind("《", seg_s, start)
    return opened < 0 or text.find("》", opened, start) >= 0  # not inside 《…》
