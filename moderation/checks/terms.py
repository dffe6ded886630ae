"""Dictionary checks: sensitive terms, commercial wording, serious wording errors, leaders."""

from __future__ import annotations

import re
from collections.abc import Iterator

from moderation.checks.base import BLOCK, WARN, Row, RowCheck, ScanContext, TermHit, longest_first_sorted
from moderation.checks.data import Leader, Lexicon
from moderation.checks.normalize import fold

SERIOUS_CATEGORY_LABELS = {
    "country_name": "国名错误",
    "organ_name": "机构名称错误",
    "outdated_term": "过时表述",
    "political_wording": "政治性表述",
    "wording": "表述错误",
}


_DELETE = "请删除或改写"
_WITHIN_CACHE = 10_000


class SensitiveTermCheck(RowCheck):
    """Sensitive / banned terms from sensitive_terms.txt (allow-list applied)."""

    kind = "sensitive"
    needs = ("sensitive",)

    def rows(self, text: str, ctx: ScanContext) -> list[Row]:
        return [
            (
                start,
                end,
                text[start:end],
                e.severity,
                f"疑似敏感词“{e.term}”（{e.category}）",
                e.rule,
                "请删除或改写",
                None,
            )
            for start, end, e in longest_first_sorted(ctx.terms("sensitive"))
        ]


class CommercialWordingCheck(RowCheck):
    """Advertising / commercial wording from commercial_terms.txt."""

    kind = "commercial"
    needs = ("commercial",)

    def rows(self, text: str, ctx: ScanContext) -> list[Row]:
        return [
            (
                start,
                end,
                text[start:end],
                e.severity,
                f"疑似商业广告用语“{e.term}”（{e.category}），政务新媒体不得发布商业广告",
                e.rule,
                "请删除商业推广内容",
                None,
            )
            for start, end, e in longest_first_sorted(ctx.terms("commercial"))
        ]


class SeriousErrorCheck(RowCheck):
    """严重表述错误: wrong → right pairs from serious_errors.tsv."""

    kind = "serious_error"
    needs = ("serious_error",)

    def __init__(self, lexicon: Lexicon | None = None) -> None:
        super().__init__(lexicon)
        # (wrong, right) → (where fold(wrong) sits in fold(right) or -1, fold(right)): a few
        # hundred pairs at most, from every lexicon this check has seen.
        self._within: dict[tuple[str, str], tuple[int, str]] = {}

    def rows(self, text: str, ctx: ScanContext) -> Iterator[Row]:
        within = self._within
        for start, end, e in longest_first_sorted(ctx.terms("serious_error")):
            right: str = e.data
            # Skip when the "wrong" form is merely part of the right form written correctly.
            pair = (e.term, right)
            found = within.get(pair)
            if found is None:
                if len(within) > _WITHIN_CACHE:  # (only ever after many edits of serious_errors.tsv)
                    within.clear()
                folded_right = fold(right)
                found = within[pair] = (folded_right.find(fold(e.term)), folded_right)
            idx, folded_right = found
            if idx >= 0 and start - idx >= 0 and fold(text[start - idx : start - idx + len(right)]) == folded_right:
                continue
            label = SERIOUS_CATEGORY_LABELS.get(e.category, e.category)
            yield (
                start,
                end,
                text[start:end],
                e.severity,
                f"严重表述错误（{label}）：“{text[start:end]}”应为“{right}”",
                e.rule,
                right,
                None,
            )


_TITLE_WORDS = (
    "总书记|书记|常委|省长|市长|县长|区长|州长|旗长|乡长|镇长|主任|主席|部长|厅长|局长|处长|秘书长|"
    "委员长|委员|总理|院长|检察长|司令员|政委|盟长|专员"
)
_TITLE = f"(?:常务副|副)?(?:{_TITLE_WORDS})"
_TITLE_BEFORE = re.compile(f"{_TITLE}$")
_TITLE_AFTER = re.compile(_TITLE)
# Between two names of a listing there are only separators, "同志" or titles: "习近平、李强",
# "习近平同志和李强同志", "习近平总书记、李强总理", and the formal "…习近平，中共中央政治局常委、
# 国务院总理李强" (a title phrase ending in a title word right before the next name). Anything
# else — "李强在讲话中强调，要贯彻习近平总书记……" — is a sentence, not a listing.
_LIST_SEP = r"(?:[\s\u3000、，,和与及暨]|以及)"
_LIST_GAP = re.compile(
    rf"(?:(?:{_TITLE}|同志)*{_LIST_SEP}+(?:[^。！？；;!?\n，,]{{0,40}}?{_TITLE})?)?",
)


class LeaderCheck(RowCheck):
    """Leaders' names (leaders.tsv): mis-written names, wrong order in a listing, wrong title.

    The shipped leaders.tsv holds placeholder names only; the office maintains the real list.
    """

    kind = "serious_error"
    needs = ("leader_wrong", "leader")

    def rows(self, text: str, ctx: ScanContext) -> list[Row]:
        hits: list[Row] = []
        for start, end, e in longest_first_sorted(ctx.terms("leader_wrong")):
            leader: Leader = e.data
            hits.append(
                (
                    start,
                    end,
                    text[start:end],
                    BLOCK,
                    f"领导同志姓名有误：“{text[start:end]}”应为“{leader.name}”",
                    e.rule,
                    leader.name,
                    None,
                )
            )
        names = longest_first_sorted(ctx.terms("leader"))
        if names:
            hits.extend(self._titles(text, names))
            hits.extend(self._order(text, names))
        hits.sort(key=_span)
        return hits

    @staticmethod
    def _titles(text: str, names: list[TermHit]) -> Iterator[Row]:
        for start, end, e in names:
            leader: Leader = e.data
            if not leader.titles:
                continue
            allowed = {_title_key(_title_word(t)) for t in leader.titles}
            m = _TITLE_BEFORE.search(text, max(0, start - 8), start)
            t_start, t_end = (m.start(), m.end()) if m else (end, end)
            if m is None:
                m = _TITLE_AFTER.match(text, end)
                if m is not None:
                    t_start, t_end = m.start(), m.end()
            if m is None or _title_key(m.group()) in allowed:
                continue
            span_s, span_e = min(start, t_start), max(end, t_end)
            yield (
                span_s,
                span_e,
                text[span_s:span_e],
                WARN,
                f"领导同志职务可能有误：{leader.name}的职务为“{'、'.join(leader.titles)}”（如系同名的其他人员，可忽略）",
                f"leader.title:{leader.name}",
                "、".join(leader.titles),
                None,
            )

    @staticmethod
    def _order(text: str, names: list[TermHit]) -> Iterator[Row]:
        run: list[TermHit] = []

        def flush() -> Iterator[Row]:
            seen: dict[str, Leader] = {}
            for _s, _e, entry in run:
                seen.setdefault(entry.data.name, entry.data)
            leaders = list(seen.values())
            if len(leaders) < 2:
                return
            ranks = [ld.rank for ld in leaders]
            if ranks == sorted(ranks):
                return
            s, e = run[0][0], run[-1][1]
            right = "、".join(ld.name for ld in sorted(leaders, key=lambda ld: ld.rank))
            yield (
                s,
                e,
                text[s:e],
                BLOCK,
                f"领导同志排序有误，应为：{right}",
                f"leader.order:{leaders[0].group}",
                right,
                None,
            )

        for hit in names:
            if run:
                prev = run[-1]
                gap = text[prev[1] : hit[0]]
                if hit[2].data.group != prev[2].data.group or not _LIST_GAP.fullmatch(gap):
                    yield from flush()
                    run = []
            run.append(hit)
        if run:
            yield from flush()


def _span(row: Row) -> tuple[int, int]:
    return (row[0], row[1])


def _title_word(title: str) -> str:
    m = _TITLE_BEFORE.search(title)
    return m.group() if m else title


def _title_key(word: str) -> str:
    """常务副总理 and 副总理 name the same post."""
    return word.removeprefix("常务")
