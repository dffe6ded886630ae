"""notify: the to-do centre (待办中心) and reminders (in-app, e-mail, 企业微信/钉钉 group robots)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    pass
