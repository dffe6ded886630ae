"""Start real processes (gunicorn, celery worker, scheduler, sandbox) for integration tests."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
import sqlalchemy as sa

from devkit import services
from tasks.celery_app import QUEUES

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


@contextmanager
def fresh_postgres_database(template: str | None = None) -> Iterator[str]:
    """A new PostgreSQL database, dropped on exit; with ``template`` (the URL of another database
    on the same server, nobody connected to it) a copy of that one — a migrated schema in well
    under a second instead of a ``flask db upgrade``."""
    services.require_postgres()
    name = f"govmedia_it_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(services.PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    copy = f' TEMPLATE "{template.rsplit("/", 1)[1]}"' if template else ""
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"{copy}')
    try:
        yield services.PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def flask_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "flask"), "--app", "app", *args],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


class ProcessGroup:
    """Processes started for one test; all stopped (TERM, then KILL) on exit."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.files: list[object] = []

    def start(self, name: str, *cmd: str) -> subprocess.Popen[bytes]:
        log = (self.log_dir / f"{name}.log").open("ab")
        self.files.append(log)
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.procs[name] = proc
        return proc

    def start_web(self, port: int) -> None:
        self.start("web", str(BIN / "gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{port}", "app:create_app()")

    def start_worker(
        self, name: str = "worker", concurrency: int = 2, loglevel: str = "INFO"
    ) -> subprocess.Popen[bytes]:
        return self.start(
            name,
            str(BIN / "celery"),
            "-A",
            "tasks.worker",
            "worker",
            "--loglevel",
            loglevel,
            "--concurrency",
            str(concurrency),
            "-Q",
            ",".join(QUEUES),
            "--hostname",
            f"{name}-{uuid.uuid4().hex[:4]}@%h",
        )

    def start_scheduler(self, name: str = "scheduler") -> subprocess.Popen[bytes]:
        return self.start(name, str(BIN / "python"), "-m", "tasks.scheduler")

    def start_sandbox(self, port: int, *extra: str) -> None:
        self.start("sandbox", str(BIN / "python"), "-m", "sandbox", "--port", str(port), *extra)
        wait_http(f"http://127.0.0.1:{port}/_sandbox/posts")

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs[name]
        os.killpg(proc.pid, sig)
        proc.wait(timeout=30)

    def stop_all(self, grace: float = 3) -> None:
        """TERM to every process group, KILL to what is left after ``grace`` seconds: these
        processes and their data are thrown away, and a Celery worker's warm shutdown can take
        15 s and more (tests/foundation/test_make_run.py checks the real Ctrl-C)."""
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # children left behind by their parent (pool processes)
        for log in self.files:
            log.close()  # type: ignore[attr-defined]

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name} ---\n{p.read_text(errors='replace')[-4000:]}" for p in sorted(self.log_dir.glob("*.log"))
        )


def wait_http(url: str, timeout: float = 60, expect: int | None = None) -> requests.Response | None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = requests.get(url, timeout=2)
            if expect is None or last.status_code == expect:
                return last
        except requests.RequestException:
            last = None
        time.sleep(0.5)
    return last
