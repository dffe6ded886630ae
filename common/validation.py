"""Checks shared by every schema and service that stores text or links from users.

- Control characters: a name (one line) may hold none; a longer text may hold tab, newline and
  carriage return only. Such characters cannot be seen, break the XLSX reports (XML forbids
  them) and confuse people comparing names with the platforms.
- Links: only ``http://`` and ``https://`` addresses with a host are stored or shown as links;
  ``javascript:``, ``data:`` and the like are refused (422) and never rendered as ``href``.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from marshmallow import ValidationError

LINE_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ufffe\uffff]")
TEXT_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
LINE_MESSAGE = "不能包含控制字符（如换行、制表符等不可见字符）"
TEXT_MESSAGE = "不能包含控制字符（不可见字符）"
URL_MESSAGE = "链接格式不正确（须以 http:// 或 https:// 开头）"


def control_char_problem(text: str | None, *, single_line: bool = True) -> str | None:
    """The Chinese reason ``text`` may not be stored, or None when it has no control characters."""
    if not text:
        return None
    if single_line:
        return LINE_MESSAGE if LINE_CONTROL.search(text) else None
    return TEXT_MESSAGE if TEXT_CONTROL.search(text) else None


class NoControlChars:
    """Marshmallow validator: refuse control characters (``single_line=False`` allows tab/newline/CR)."""

    def __init__(self, *, single_line: bool = True) -> None:
        self.single_line = single_line

    def __call__(self, value: Any) -> Any:
        problem = control_char_problem(value, single_line=self.single_line) if isinstance(value, str) else None
        if problem:
            raise ValidationError(problem)
        return value


NO_CONTROL = NoControlChars()
NO_CONTROL_TEXT = NoControlChars(single_line=False)


def http_url(value: Any) -> str | None:
    """``value`` if it is an http(s) address with a host and no blanks or control characters, else None.

    Also the ``http_url`` Jinja filter: templates put only what it returns into ``href``.
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or LINE_CONTROL.search(text) or any(ch.isspace() for ch in text):
        return None
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return text


def check_http_url(value: Any) -> Any:
    """Marshmallow validator for a link field (``None`` and ``""`` pass: the field is optional)."""
    if value in (None, ""):
        return value
    if http_url(value) is None:
        raise ValidationError(URL_MESSAGE)
    return value
