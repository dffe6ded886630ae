"""`make run` itself: devserver.py on the embedded default (SQLite + the SQLAlchemy broker).

Starts the command `make run` runs after installing (``.venv/bin/python devserver.py``) on free
ports with fresh SQLite files, logs in with a demo login, waits for the worker and scheduler
heartbeats, then presses Ctrl-C (SIGINT to its process group) and checks that every process
it started — web, worker, scheduler, sandbox and their children — is gone.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from devkit import processes, services

pytestmark = [pytest.mark.integration, pytest.mark.slow]

STARTUP_SECONDS = 120
STOP_SECONDS = 20
# Environment that would move `make run` off the embedded default; the test removes it.
NOT_DEFAULT = (
    "REDIS_URL",
    "RATELIMIT_STORAGE_URI",
    "SANDBOX_URL",
    "SANDBOX_STATE",
    "WECHAT_BASE_URL",
    "WEIBO_BASE_URL",
    "DOUYIN_BASE_URL",
    "TOUTIAO_BASE_URL",
    "SESSION_COOKIE_SECURE",
    "FLASK_APP",
)
# The Procfile keeps the sandbox's files under instance/ of the tree; put them back afterwards.
INSTANCE_FILES = ("sandbox.json", "sandbox-seed.json")
ROLES = {"web": "gunicorn", "worker": "celery", "scheduler": "tasks.scheduler", "sandbox": "sandbox"}


@pytest.fixture
def instance_files_restored() -> Iterator[None]:
    saved = {name: (processes.ROOT / "instance" / name) for name in INSTANCE_FILES}
    before = {name: path.read_bytes() if path.exists() else None for name, path in saved.items()}
    yield
    for name, path in saved.items():
        if before[name] is None:
            path.unlink(missing_ok=True)
        else:
            path.write_bytes(before[name])


def _stat(pid: int) -> tuple[int, str, int] | None:
    """(parent pid, state, start time) from /proc/PID/stat, or None if the process is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    fields = raw[raw.rindex(")") + 2 :].split()  # after "pid (comm) "; comm may contain spaces
    return int(fields[1]), fields[0], int(fields[19])


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def descendants(root: int) -> dict[int, tuple[int, str]]:
    """Every live process below ``root`` (by parent pid): pid → (start time, command line)."""
    parents: dict[int, list[int]] = {}
    info: dict[int, tuple[int, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat = _stat(int(entry.name))
        if stat is None or stat[1] == "Z":
            continue
        parents.setdefault(stat[0], []).append(int(entry.name))
        info[int(entry.name)] = (stat[2], _cmdline(int(entry.name)))
    found: dict[int, tuple[int, str]] = {}
    todo = list(parents.get(root, []))
    while todo:
        pid = todo.pop()
        if pid in info and pid not in found:
            found[pid] = info[pid]
            todo.extend(parents.get(pid, []))
    return found


def alive(pid: int, start_time: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[1] != "Z" and stat[2] == start_time


def wait_for(predicate, timeout: float, interval: float = 0.5):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    result = predicate()
    while not result and time.monotonic() < deadline:
        time.sleep(interval)
        result = predicate()
    return result


def sign_in(base: str, username: str) -> tuple[requests.Session, requests.Response]:
    """A browser-like session logged in with a demo login (the form's CSRF token included)."""
    browser = requests.Session()
    form = browser.get(f"{base}/login", timeout=10)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token, form.text
    response = browser.post(
        f"{base}/login",
        data={"username": username, "password": "demo12345", "csrf_token": token.group(1)},
        timeout=10,
    )
    return browser, response


def test_make_run_serves_logs_in_reports_green_and_stops_on_ctrl_c(tmp_path, instance_files_restored):
    port, sandbox_port = services.free_port(), services.free_port()
    while sandbox_port == port:
        sandbox_port = services.free_port()
    env = {key: value for key, value in os.environ.items() if key not in NOT_DEFAULT}
    env.update(
        PORT=str(port),
        SANDBOX_PORT=str(sandbox_port),
        # The embedded default (config.py), only on fresh files: SQLite + the kombu SQLAlchemy broker.
        DATABASE_URL=f"sqlite:///{tmp_path / 'govmedia.sqlite'}",
        BROKER_URL=f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}",
        MEDIA_DIR=str(tmp_path / "media"),
        PYTHONUNBUFFERED="1",
    )
    base = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "devserver.log"
    with log_path.open("wb") as log:
        devserver = subprocess.Popen(
            [str(processes.BIN / "python"), "devserver.py"],
            cwd=processes.ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as a terminal's foreground job
        )

    def output() -> str:
        return log_path.read_text(errors="replace")

    started: dict[int, tuple[int, str]] = {}
    try:
        # 1. The login page (简体中文, with its form) within two minutes.
        def answer_ok(path: str) -> requests.Response | None:
            """The page once it answers 200; fails at once if devserver.py has died."""
            if devserver.poll() is not None:
                pytest.fail(f"devserver.py exited with {devserver.returncode}:\n{output()[-6000:]}")
            try:
                answer = requests.get(f"{base}{path}", timeout=5)
            except requests.RequestException:
                return None
            return answer if answer.status_code == 200 else None

        page = wait_for(lambda: answer_ok("/"), timeout=STARTUP_SECONDS)
        assert page is not None, f"no login page within {STARTUP_SECONDS} s:\n{output()[-6000:]}"
        assert page.url.startswith(f"{base}/login"), page.url
        assert '<html lang="zh-CN">' in page.text
        assert "登录" in page.text and 'name="username"' in page.text and 'name="password"' in page.text

        # 2. The printed banner: the URL and the demo logins.
        printed = output()
        assert f"{base}/" in printed
        assert "demo12345" in printed
        for username in ("operator", "reviewer1", "reviewer2", "reviewer3", "auditor", "admin"):
            assert username in printed, username

        # 3. A demo login works (the form's CSRF token is required).
        _, response = sign_in(base, "operator")
        assert response.status_code == 200, response.text[-2000:]
        assert not response.url.startswith(f"{base}/login"), response.url
        assert "退出" in response.text and "运营-王敏" in response.text

        # 4. /healthz: SQLite, the SQLAlchemy broker, worker and scheduler heartbeats all green.
        def healthy() -> dict | None:
            answer = answer_ok("/healthz")
            return answer.json() if answer is not None else None

        health = wait_for(healthy, timeout=STARTUP_SECONDS)
        last = requests.get(f"{base}/healthz", timeout=5)
        assert health is not None, f"{last.status_code} {last.text}\n{output()[-6000:]}"
        checks = health["checks"]
        assert checks["database"]["dialect"] == "sqlite"
        assert checks["broker"]["transport"] == "sqla+sqlite"
        assert checks["worker"]["ok"] and checks["scheduler"]["ok"]
        sandbox = processes.wait_http(f"http://127.0.0.1:{sandbox_port}/_sandbox/", timeout=30, expect=200)
        assert sandbox is not None and sandbox.status_code == 200, output()[-6000:]

        # 5. The office's 问题线索 page fills without waiting for the scheduler's daily sweep: the
        #    demo start had the worker inspect once (seed-demo --first-sweep), e.g. the post made
        #    in the Weibo app without review. It was empty before.
        auditor, _ = sign_in(base, "auditor")

        def found() -> str | None:
            page = auditor.get(f"{base}/findings", timeout=10).text
            return page if 'data-kind="unreviewed_post"' in page else None

        assert wait_for(found, timeout=STARTUP_SECONDS, interval=2), output()[-6000:]
        assert "首次巡检" in output()

        # Every process `make run` started: the four Procfile processes and their children.
        started = descendants(devserver.pid)
        commands = " ".join(cmd for _, cmd in started.values())
        for role, needle in ROLES.items():
            assert needle in commands, f"{role} ({needle}) not running: {commands}"
    finally:
        if not started and devserver.poll() is None:
            started = descendants(devserver.pid)
        # 6. Ctrl-C: SIGINT to the foreground process group; everything gone within STOP_SECONDS.
        deadline = time.monotonic() + STOP_SECONDS
        if devserver.poll() is None:
            os.killpg(devserver.pid, signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            devserver.wait(timeout=STOP_SECONDS)
        wait_for(
            lambda: not [pid for pid, (start, _) in started.items() if alive(pid, start)],
            timeout=max(0.0, deadline - time.monotonic()),
        )
        stopped_in_time = devserver.poll() is not None
        left = {pid: cmd for pid, (start, cmd) in started.items() if alive(pid, start)}
        # Never leave processes behind for the next test, whatever happened above.
        for pid in left:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        if devserver.poll() is None:
            devserver.kill()
            devserver.wait(timeout=10)
    assert stopped_in_time and not left, f"still running {STOP_SECONDS} s after Ctrl-C: {left}\n{output()[-6000:]}"
    # A clean stop: the Ctrl-C exit code (130), and no traceback out of devserver.py itself.
    assert devserver.returncode == 130, output()[-6000:]
    assert f'File "{processes.ROOT / "devserver.py"}"' not in output(), output()[-6000:]
