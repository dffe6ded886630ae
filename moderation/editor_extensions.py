"""Per-target choices in the content editor, registered per app (moderation imports no publishers).

Some choices belong to a higher layer: WeChat 群发 or 发布 is the publishers' (``publishers.send_modes``).
Whoever owns such a choice registers a ``TargetChoice`` in its ``init_app`` with
``register_target_choice(app, choice)``; the editor shows its options for each chosen target it
applies to, and calls ``save`` after the content is created or updated, before the commit, so a
refused choice rolls back the whole save.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app

EXTENSION = "moderation.target_choices"


@dataclass(frozen=True)
class TargetChoice:
    """One choice per target account.

    ``options(content, accounts)``: for each account it applies to, a dict with ``account_id``,
    ``account_name``, ``field`` (the form field name), ``legend``, ``options`` ([{value, label}]),
    ``current`` (a value), ``help`` (text a person reads: quotas, what each option means).
    ``content`` is None for a new draft. ``save(content, form, actor)`` records the posted choices.
    """

    name: str
    options: Callable[[Any, list[Any]], list[dict[str, Any]]]
    save: Callable[[Any, Mapping[str, Any], Any], None]


def _choices(app: Flask) -> list[TargetChoice]:
    choices: list[TargetChoice] = app.extensions.setdefault(EXTENSION, [])
    return choices


def register_target_choice(app: Flask, choice: TargetChoice) -> None:
    choices = _choices(app)
    if all(c.name != choice.name for c in choices):
        choices.append(choice)


def target_choices() -> tuple[TargetChoice, ...]:
    return tuple(_choices(current_app))  # type: ignore[arg-type]


def options_for(content: Any, accounts: list[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for choice in target_choices():
        out.extend(choice.options(content, accounts))
    return out


def save_all(content: Any, form: Mapping[str, Any], actor: Any) -> None:
    for choice in target_choices():
        choice.save(content, form, actor)
