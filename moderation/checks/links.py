"""External and commercial links, judged by domain against link_domains.tsv."""

from __future__ import annotations

import re
from collections.abc import Iterator

from moderation.checks.base import WARN, Row, RowCheck, ScanContext
from moderation.checks.data import TRIGGER_URL, LinkRule
from moderation.checks.normalize import FOLD_SOURCES, fold

_URL_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~:/?#[]@!$&'()*+,;=%" + FOLD_SOURCES
)
_URL_RUN = re.compile("[" + re.escape("".join(sorted(_URL_CHARS))) + "]*")
_URL = re.compile(
    r"(?P<scheme>(?:https?|ftp)://)?"
    r"(?P<host>(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z][a-z0-9-]{0,23}|xn--[a-z0-9-]+)"
    r"|[0-9]{1,3}(?:\.[0-9]{1,3}){3})"
    r"(?::[0-9]{1,5})?(?:[/?#][a-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*)?"
)
_TRAILING = ".,;:!?)]'"
# Top-level domains accepted for links written without a scheme ("example.com/x").
_TLDS = (
    "cn com net org gov edu info biz cc tv top xyz vip shop site online io me co club wang ink "
    "ltd link app mobi hk tw mo asia store tech fun pro live icu work cloud red art group love "
    "tk ml ga cf gq ws la us uk jp kr de fr ru"
)
KNOWN_TLDS = frozenset(_TLDS.split())


class LinkCheck(RowCheck):
    """URLs: allowed official domains pass; commercial/blocked ones block; others warn."""

    kind = "link"
    needs = (TRIGGER_URL,)

    def rows(self, text: str, ctx: ScanContext) -> Iterator[Row]:
        triggers = ctx.terms(TRIGGER_URL)
        rules = ctx.lexicon.link_rules
        done = -1
        for t_start, t_end, _entry in triggers:
            if t_start < done:
                continue
            ws, we = t_start, t_end
            while ws > 0 and text[ws - 1] in _URL_CHARS:
                ws -= 1
            we = _URL_RUN.match(text, we).end()  # type: ignore[union-attr]  # (* matches empty)
            done = we
            window = fold(text[ws:we])
            for u in _URL.finditer(window):
                hit = self._judge(text, window, ws, u, rules)
                if hit is not None:
                    yield hit

    @staticmethod
    def _judge(text: str, window: str, offset: int, u: re.Match[str], rules: dict[str, LinkRule]) -> Row | None:
        start, end = u.start(), u.end()
        while end > start and window[end - 1] in _TRAILING:
            end -= 1
        host = u.group("host")
        scheme = u.group("scheme")
        is_ip = host[0].isdigit() and host.replace(".", "").isdigit()
        if start > 0 and window[start - 1] == "@":
            return None  # e-mail address
        if not scheme and (is_ip or host.rsplit(".", 1)[-1] not in KNOWN_TLDS):
            return None  # version numbers, file names, …
        start += offset
        end += offset
        shown = text[start:end]
        if is_ip:
            return (start, end, shown, WARN, f"以IP地址形式出现的链接“{host}”，请确认来源", "link.ip", None, None)
        rule = _lookup(host, rules)
        if rule is None:
            return (
                start,
                end,
                shown,
                WARN,
                f"外部链接：{host} 不在政府网站及官方媒体域名白名单内，请确认来源可靠",
                "link.external",
                "请改用政府网站或官方媒体的链接",
                None,
            )
        if rule.verdict == "allow":
            return None
        note = f"（{rule.note}）" if rule.note else ""
        if rule.verdict == "commercial":
            msg = f"商业/广告链接{note}：{host}，政务新媒体不得发布商业广告链接"
        elif rule.verdict == "shortener":
            msg = f"短链接{note}：{host}，无法确认实际指向，请改用原始链接"
        else:
            msg = f"禁止发布的链接{note}：{host}"
        return (start, end, shown, rule.severity, msg, f"link.{rule.verdict}:{rule.domain}", None, None)


def _lookup(host: str, rules: dict[str, LinkRule]) -> LinkRule | None:
    host = host.removeprefix("www.")
    while True:
        rule = rules.get(host)
        if rule is not None:
            return rule
        dot = host.find(".")
        if dot < 0:
            return None
        host = host[dot + 1 :]
