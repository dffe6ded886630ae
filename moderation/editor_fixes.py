"""Check hits in the editor: where each is shown (beside its field) and one-click 应用建议.

A hit "has a fix" when its suggestion is a replacement for the hit's text — a masked ID, card
or phone number or address (``privacy.*``), or a correction the message states as “应为“…””
(serious wording errors, leaders' names) — and its field is one the editor edits as text.
Instructions such as “请删除或改写” are advice, not fixes.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Mapping
from typing import Any

from moderation.sanitize import html_to_text, sanitize_html

EDITABLE_TEXT_FIELDS = ("title", "summary", "body")
_OVERRIDE_TEXT = re.compile(r"^override:([a-z]+):text$")


def anchor_of(field: str) -> str:
    """The id of the editor block a finding of ``field`` is shown under."""
    if field in ("title", "summary", "body"):
        return field
    name, _, rest = field.partition(":")
    if name in ("body_link", "body_image_alt"):
        return "body"
    if name in ("image_alt", "attachment", "media"):
        return "media"
    if name == "override":
        return f"override_{rest.partition(':')[0]}"
    return "targets"


def fix_of(finding: Mapping[str, Any]) -> str | None:
    """The replacement text of a hit that has a one-click fix, else None."""
    suggestion = finding.get("suggestion")
    field = str(finding.get("field") or "")
    if not suggestion or not finding.get("text") or finding.get("end", 0) <= finding.get("start", 0):
        return None
    if field not in EDITABLE_TEXT_FIELDS and not _OVERRIDE_TEXT.match(field):
        return None
    rule = str(finding.get("rule") or "")
    if rule.startswith("privacy.") or f"应为“{suggestion}”" in str(finding.get("message") or ""):
        return str(suggestion)
    return None


def fix_key(finding: Mapping[str, Any]) -> str:
    """The value of a finding's 应用建议 button: start|end|field (the field may contain colons)."""
    return f"{finding['start']}|{finding['end']}|{finding['field']}"


def parse_fix_key(value: str) -> tuple[int, int, str] | None:
    start, _, rest = (value or "").partition("|")
    end, _, field = rest.partition("|")
    if not (start.isdigit() and end.isdigit() and field):
        return None
    return int(start), int(end), field


def _replace_in_html(markup: str, text: str, occurrence: int, replacement: str) -> str | None:
    """Replace the ``occurrence``-th (0-based) appearance of ``text`` in the markup's text."""
    needle = html_lib.escape(text, quote=False)
    positions = [m.start() for m in re.finditer(re.escape(needle), markup)]
    if occurrence >= len(positions):
        return None
    at = positions[occurrence]
    return markup[:at] + html_lib.escape(replacement, quote=False) + markup[at + len(needle) :]


def apply_fix(data: dict[str, Any], finding: Mapping[str, Any], replacement: str) -> bool:
    """Apply one fix to the editor's form data in place; False when the text is no longer there.

    Title, summary and a platform's 单独文案 are plain text: the hit's offsets are replaced.
    The body is HTML while the offsets refer to its plain text: the same appearance of the hit
    (the n-th one in the plain text) is replaced in the markup's text.
    """
    field = str(finding["field"])
    start, end, text = int(finding["start"]), int(finding["end"]), str(finding["text"])
    if field in ("title", "summary"):
        value = str(data.get(field) or "")
        if value[start:end] != text:
            return False
        data[field] = value[:start] + replacement + value[end:]
        return True
    if field == "body":
        plain = html_to_text(sanitize_html(data.get("body")))
        if plain[start:end] != text:
            return False
        occurrence = plain[:start].count(text)
        raw = str(data.get("body") or "")
        markup = raw if re.search(r"<[a-zA-Z/!]", raw) else sanitize_html(raw)
        fixed = _replace_in_html(markup, text, occurrence, replacement)
        if fixed is None:
            return False
        data["body"] = fixed
        return True
    match = _OVERRIDE_TEXT.match(field)
    if match:
        entry = dict((data.get("overrides") or {}).get(match.group(1)) or {})
        value = str(entry.get("text") or "")
        if value[start:end] != text:
            return False
        entry["text"] = value[:start] + replacement + value[end:]
        data.setdefault("overrides", {})[match.group(1)] = entry
        return True
    return False
