"""Data migration pv_withdraw_note_text: deliveries written before commit 2709071 carry the old
no-delete-API note in last_error_message; the migration rewrites exactly that text to today's
NO_DELETE_API_MESSAGE and leaves every other message (a longer text containing it, other notes,
NULL) alone; the downgrade gives the old text back. Run through Alembic on a fresh database of the
session's backend (GOVMEDIA_TEST_DB: a SQLite file, or a new PostgreSQL database), as
tests/foundation/test_migrations.py does."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from devkit.apps import make_test_app
from devkit.processes import fresh_postgres_database
from extensions import db
from publishers.withdraw import NO_DELETE_API_MESSAGE

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
OLD = "该平台不支持接口删除，请运营人员在平台后台手工删除后点击“已处理”"
REVISION = "pv_withdraw_note_text"


def _migration():
    (path,) = (MIGRATIONS / "versions").glob(f"*-{REVISION}.py")
    spec = importlib.util.spec_from_file_location(REVISION, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextmanager
def fresh_database(tmp_path: Path) -> Iterator[str]:
    if os.environ.get("GOVMEDIA_TEST_DB", "sqlite") == "postgresql":
        with fresh_postgres_database() as url:
            yield url
    else:
        yield f"sqlite:///{tmp_path / 'withdraw-note.sqlite'}"


def test_the_migration_spells_the_old_text_and_todays_constant() -> None:
    module = _migration()
    assert (module.OLD_TEXT, module.NEW_TEXT) == (OLD, NO_DELETE_API_MESSAGE)


def test_old_withdraw_notes_are_rewritten_and_nothing_else(tmp_path: Path) -> None:
    messages = {
        1: OLD,  # the note as written before 2709071
        2: f"{OLD}（补充）",  # a longer text that merely contains it
        3: "稿件撤回，已取消发送",  # another note
        4: None,
    }
    with fresh_database(tmp_path) as url, make_test_app(url).app_context():
        upgrade(directory=str(MIGRATIONS), revision=_migration().down_revision)
        now = "2026-12-06 00:00:00"
        # Plain SQL: the models may already have columns that later migrations add.
        parents = (
            "INSERT INTO units (id, name, kind, is_active, created_at, updated_at) "
            "VALUES (1, '某县人民政府', 'government', :yes, :now, :now)",
            "INSERT INTO users (id, username, display_name, unit_id, password_hash, is_active, session_generation, "
            "created_at, updated_at) VALUES (1, 'op', '运营', 1, 'x', :yes, 0, :now, :now)",
            "INSERT INTO accounts (id, platform, name, unit_id, status, is_primary, verified, created_at, updated_at) "
            "VALUES (1, 'douyin', '某县发布', 1, 'active', :yes, :no, :now, :now)",
            "INSERT INTO contents (id, unit_id, author_id, title, body_html, body_text, media, disclosure, kind, "
            "overrides, status, version, warnings_acknowledged, created_at, updated_at) VALUES "
            "(1, 1, 1, '通知', '<p>通知</p>', '通知', '[]', 'active', 'news', '{}', 'withdrawn', 1, :no, :now, :now)",
        )
        for statement in parents:
            db.session.execute(sa.text(statement), {"now": now, "yes": True, "no": False})
        for row_id, message in messages.items():
            db.session.execute(
                sa.text(
                    "INSERT INTO deliveries (id, content_id, version, account_id, status, attempts, idempotency_key, "
                    "content_hash, last_error_code, last_error_message, created_at, updated_at) "
                    "VALUES (:id, 1, :id, 1, 'manual', 0, :key, 'h', 'manual_withdraw', :message, :now, :now)"
                ),
                {"id": row_id, "key": f"k{row_id}", "message": message, "now": now},
            )
        db.session.commit()

        def stored() -> dict[int, str | None]:
            rows = db.session.execute(sa.text("SELECT id, last_error_message FROM deliveries ORDER BY id")).all()
            db.session.remove()  # end the read transaction: the next migration step writes from its own
            return {int(row_id): message for row_id, message in rows}

        upgrade(directory=str(MIGRATIONS), revision=REVISION)
        assert stored() == {**messages, 1: NO_DELETE_API_MESSAGE}

        downgrade(directory=str(MIGRATIONS), revision=_migration().down_revision)
        assert stored() == messages
        db.session.remove()
        db.engine.dispose()
