"""Fixtures: app, client, db_session (rollback per test), users, API helpers.

The database backend is chosen by GOVMEDIA_TEST_DB (sqlite — the default — or postgresql);
`make test` runs the database tests on both. Each xdist worker gets its own database.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from flask.testing import FlaskClient
from flask_migrate import upgrade

import jobs
from auth.models import Role, User, UserRole
from auth.service import hash_password, issue_token
from demo import _sandbox_credentials
from devkit import processes, services
from devkit.apps import make_test_app
from extensions import db
from jobs import runner
from platforms import channels
from publishers.credential_admin import set_credentials
from registry.models import Account, AccountStatus, Platform
from registry.units import create_unit
from sandbox import create_sandbox_app
from sandbox.server import build_server

BACKEND = os.environ.get("GOVMEDIA_TEST_DB", "sqlite")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "app" in fixtures or "db_session" in fixtures:
            item.add_marker(pytest.mark.db)
    items.sort(key=_long_first)


#: About how long the longest modules of `make test`'s parallel part take (seconds on one of two
#: xdist workers, measured 2026-12-06 22:10–22:21 with --durations, a machine loaded by other runs,
#: 1-min load 6–12; the first module on each worker also starts that worker's shared live stack):
#: xdist (``--dist loadfile --no-loadscope-reorder``) hands modules out in this order, so the long
#: ones start early on both workers and the short ones even out the two workers' ends.
LONGEST_MODULES = {
    "tests/publishers/test_pipeline_processes.py": 130,  # fan-out fault tests (the 30 % soak was 180 s alone)
    "tests/browser/test_journeys.py": 150,  # waits for the post's time
    "tests/browser/test_accessibility.py": 130,  # on the worker's shared stack (its start included)
    "tests/browser/test_repost_journey.py": 75,  # a stack of its own
    "tests/browser/test_phone_width.py": 75,
    "tests/browser/test_oversight_journeys.py": 75,
    "tests/foundation/test_load.py": 70,
    "tests/foundation/test_make_run.py": 65,
    "tests/foundation/test_api_fuzz.py": 55,
    "tests/admin/test_first_run.py": 55,
    "tests/browser/test_keyboard.py": 45,
    "tests/browser/test_first_run.py": 40,
    "tests/browser/test_calendar_journey.py": 35,
    "tests/oversight/test_inspection_worker.py": 30,
    "tests/browser/test_harness.py": 25,
}


def _long_first(item: pytest.Item) -> tuple[int, int]:
    """Longest first for `make test`'s parallel part (LONGEST_MODULES); then the other soak/fault
    tests with processes of their own, then the rest (the short page checks on the shared live
    stack). A stable sort: within each group, and in every run without slow or browser tests, the
    collection order stays."""
    weight = -LONGEST_MODULES.get(item.nodeid.split("::", 1)[0], 0)
    if item.get_closest_marker("slow") and not item.get_closest_marker("browser"):
        return weight, 0
    return weight, 1


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Iterator[str]:
    if BACKEND == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"
        return
    services.require_postgres()
    name = f"govmedia_test_{worker_id}_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(services.PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield services.PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(scope="session")
def migrated_postgres() -> Iterator[str]:
    """A PostgreSQL database migrated once per test process (xdist worker) and never connected to:
    the tests with processes of their own copy it (``processes.fresh_postgres_database(template=…)``,
    well under a second) instead of each running ``flask db upgrade`` (10–20 s on a loaded machine).
    The migrations themselves are tested on an empty database (test_production_shape.py, checkdb)."""
    with processes.fresh_postgres_database() as url:
        upgraded = processes.flask_cli({**os.environ, "DATABASE_URL": url}, "db", "upgrade")
        if upgraded.returncode != 0:
            pytest.fail(f"flask db upgrade failed:\n{upgraded.stdout}\n{upgraded.stderr}", pytrace=False)
        yield url


@pytest.fixture(scope="session")
def app(database_url: str) -> Iterator[Any]:
    app = make_test_app(database_url)
    with app.app_context():
        upgrade(directory=str(Path(__file__).resolve().parent.parent / "migrations"))
    yield app

    with app.app_context():
        db.engine.dispose()  # close the pool's connections now, not at interpreter exit


@contextmanager
def rolled_back_session(app: Any) -> Iterator[Any]:
    """One connection, an outer transaction, and savepoints for every commit inside it.

    Whatever the code inside commits is rolled back on exit (``db_session`` uses this;
    tests/foundation/test_isolation.py proves it).
    """

    with app.app_context():
        db.session.remove()
        connection = db.engine.connect()
        outer = connection.begin()
        db.session.configure(bind=connection, join_transaction_mode="create_savepoint")
        try:
            yield db.session
        finally:
            db.session.remove()
            outer.rollback()
            connection.close()
            db.session.configure(bind=None, join_transaction_mode="conditional_savepoint")  # the default


@pytest.fixture
def db_session(app: Any) -> Iterator[Any]:
    """The application session, rolled back after the test (see rolled_back_session)."""
    with rolled_back_session(app) as session:
        yield session


@pytest.fixture
def client(app: Any, db_session: Any) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def make_unit(db_session: Any) -> Any:
    def _make(name: str | None = None, parent: Any = None, **kw: Any) -> Any:
        data = {"name": name or f"测试单位{uuid.uuid4().hex[:6]}", "parent_id": getattr(parent, "id", None)}
        data.update(kw)
        return create_unit(data)

    return _make


_PASSWORD_HASH: dict[str, str] = {}
PASSWORD = "password123"


@pytest.fixture
def make_user(db_session: Any, make_unit: Any) -> Any:
    if "h" not in _PASSWORD_HASH:
        _PASSWORD_HASH["h"] = hash_password(PASSWORD)

    def _make(*roles: Role | str, unit: Any = None, username: str | None = None) -> Any:
        unit = unit or make_unit()
        user = User(
            username=username or f"u{uuid.uuid4().hex[:8]}",
            display_name="测试用户",
            unit_id=unit.id,
            password_hash=_PASSWORD_HASH["h"],
        )
        user.role_rows = [UserRole(role=Role(r)) for r in (roles or (Role.operator,))]
        db_session.add(user)
        db_session.flush()
        return user

    return _make


class ApiClient:
    """A test client that sends a bearer token and JSON."""

    def __init__(self, client: FlaskClient, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def _call(self, method: str, path: str, **kw: Any) -> Any:
        headers = {**self.headers, **kw.pop("headers", {})}
        return self.client.open(path, method=method, headers=headers, **kw)

    def get(self, path: str, **kw: Any) -> Any:
        return self._call("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Any:
        return self._call("POST", path, **kw)

    def patch(self, path: str, **kw: Any) -> Any:
        return self._call("PATCH", path, **kw)

    def put(self, path: str, **kw: Any) -> Any:
        return self._call("PUT", path, **kw)


@pytest.fixture
def api_as(client: FlaskClient, db_session: Any) -> Any:
    def _as(user: Any) -> ApiClient:
        token, _ = issue_token(user)
        return ApiClient(client, token)

    return _as


class SandboxServer:
    """The simulated platforms on a real 127.0.0.1 port, in a background thread."""

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        self.app = create_sandbox_app(config or {})
        self.server = build_server(self.app)  # HTTP/1.1 keep-alive, as the real platforms
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def call(self, method: str, path: str, **kw: Any) -> Any:
        response = requests.request(method, self.url + path, timeout=10, **kw)
        response.raise_for_status()
        return response.json() if response.content else None

    def posts(self, platform: str | None = None) -> list[dict[str, Any]]:
        params = {"platform": platform} if platform else {}
        return self.call("GET", "/_sandbox/posts", params=params)["posts"]

    def live_posts(self, platform: str | None = None) -> list[dict[str, Any]]:
        return [p for p in self.posts(platform) if not p.get("deleted")]

    def fault(self, **body: Any) -> None:
        self.call("POST", "/_sandbox/faults", json=body)

    def configure(self, **body: Any) -> None:
        self.call("POST", "/_sandbox/config", json=body)

    def reset(self) -> None:
        self.call("POST", "/_sandbox/reset")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxServer]:
    server = SandboxServer()
    yield server
    server.close()


@pytest.fixture
def sandbox(app: Any, sandbox_server: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> SandboxServer:
    """A clean sandbox, with the app's adapters pointed at it."""
    sandbox_server.reset()
    base = sandbox_server.url
    monkeypatch.setitem(app.config, "SANDBOX_URL", base)
    monkeypatch.setitem(
        app.config, "PLATFORM_BASE_URLS", {p: f"{base}/{p}" for p in ("wechat", "weibo", "douyin", "toutiao")}
    )
    monkeypatch.setitem(app.config, "ADAPTER_TIMEOUT_SECONDS", 2)
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://gov.example.cn")
    channels.close_adapters(app)
    yield sandbox_server
    channels.close_adapters(app)


@pytest.fixture
def make_account(db_session: Any) -> Any:
    """An active registry account with sandbox credentials (docs/sandbox.md formats)."""

    def _make(
        unit: Any, platform: str = "weibo", uid: str | None = None, *, credentials: bool = True, **kw: Any
    ) -> Any:
        uid = uid or f"{platform[:2]}{uuid.uuid4().hex[:10]}"
        account = Account(
            platform=Platform(platform),
            platform_uid=uid,
            name=kw.pop("name", f"{unit.name}{platform}"),
            unit_id=unit.id,
            status=kw.pop("status", AccountStatus.active),
            verified_subject=unit.name,
            **kw,
        )
        db_session.add(account)
        db_session.flush()
        if credentials:
            set_credentials(account.id, _sandbox_credentials(Platform(platform), uid))
        return account

    return _make


@pytest.fixture
def run_jobs(db_session: Any) -> Any:
    """Run every queued background job in-process, as the worker's task does; returns outcomes."""

    def _run() -> list[str]:
        ids = db_session.scalars(sa.select(jobs.JobRun.id).where(jobs.JobRun.status == "queued").order_by("id")).all()
        return [runner.run(job_id) for job_id in ids]

    return _run
