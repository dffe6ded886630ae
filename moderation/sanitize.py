"""Rich-text bodies: sanitise to an allow-list (nh3) and render the plain text the checks read.

``sanitize_html`` is what gets stored and published; ``html_to_text`` is a deterministic plain
rendering of that HTML (block elements become line breaks). The checks run over the plain text,
so finding offsets refer to ``Content.body_text``.
"""

from __future__ import annotations

import html as html_lib
import re
from html.parser import HTMLParser

import nh3

ALLOWED_TAGS = frozenset(
    {
        "p",
        "br",
        "hr",
        "h2",
        "h3",
        "h4",
        "strong",
        "b",
        "em",
        "i",
        "u",
        "s",
        "sub",
        "sup",
        "blockquote",
        "ul",
        "ol",
        "li",
        "a",
        "img",
        "figure",
        "figcaption",
        "table",
        "caption",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "pre",
        "code",
    }
)
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "ol": {"start"},
    "th": {"colspan", "rowspan", "scope"},
    "td": {"colspan", "rowspan"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
# Dropped together with everything inside them (not merely unwrapped).
CLEAN_CONTENT_TAGS = frozenset({"script", "style", "iframe", "object", "embed", "noscript", "template", "textarea"})

BLOCK_TAGS = frozenset(
    {
        "p",
        "div",
        "br",
        "hr",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "ul",
        "ol",
        "li",
        "figure",
        "figcaption",
        "table",
        "caption",
        "thead",
        "tbody",
        "tr",
        "pre",
    }
)
_TAG_LIKE = re.compile(r"<[a-zA-Z/!]")
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u3000]+")
_MANY_NEWLINES = re.compile(r"\n{3,}")


def sanitize_html(raw: str | None) -> str:
    """Stored/published HTML: allow-listed tags and attributes only, safe link targets.

    Plain text without any markup is turned into paragraphs (one per blank-line block; single
    line breaks become ``<br>``), so API clients and the textarea may send either.
    """
    raw = (raw or "").strip()
    if not raw:
        return ""
    if not _TAG_LIKE.search(raw):
        raw = text_to_html(raw)
    cleaned = nh3.clean(
        raw,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(CLEAN_CONTENT_TAGS),
        attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer",
        strip_comments=True,
    )
    return cleaned.strip()


def text_to_html(text: str) -> str:
    blocks = [b.strip() for b in re.split(r"\n\s*\n", text.replace("\r\n", "\n")) if b.strip()]
    return "".join("<p>" + "<br>".join(html_lib.escape(line) for line in b.split("\n")) + "</p>" for b in blocks)


class _TextRenderer(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.image_alts: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in BLOCK_TAGS:
            self.parts.append("\n")
        if tag == "img":
            alt = dict(attrs).get("alt")
            if alt and alt.strip():
                self.image_alts.append(alt.strip())
            src = dict(attrs).get("src")
            if src:
                self.links.append(src)
        elif tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.links.append(href)
        elif tag in {"td", "th"}:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in BLOCK_TAGS:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _render(html: str) -> _TextRenderer:
    parser = _TextRenderer()
    parser.feed(html or "")
    parser.close()
    return parser


def html_to_text(html: str | None) -> str:
    """Plain text of (sanitised) HTML: one line per block, inner whitespace collapsed."""
    joined = "".join(_render(html or "").parts)
    lines = [_SPACES.sub(" ", line).strip() for line in joined.split("\n")]
    text = "\n".join(lines)
    return _MANY_NEWLINES.sub("\n\n", text).strip()


def image_alts(html: str | None) -> list[str]:
    """``alt`` texts of the images inside the body (checked like any other text)."""
    return _render(html or "").image_alts


def links(html: str | None) -> list[str]:
    """Link targets and image sources in the body (the link checks read them)."""
    return _render(html or "").links
