"""devserver.Supervisor: a process that exits is restarted with backoff; the others keep running.

Real processes (small Python one-liners), a supervisor in a thread; no application needed.
"""

from __future__ import annotations

import io
import os
import sys
import threading
import time

import pytest

import devserver

PY = sys.executable


def wait_for(predicate, timeout: float):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.05)
    return predicate()


class FastSupervisor(devserver.Supervisor):
    BACKOFF_START = 0.2
    BACKOFF_MAX = 0.8
    STOP_SECONDS = 2.0


@pytest.fixture
def supervised(tmp_path):  # type: ignore[no-untyped-def]
    started: list[tuple[FastSupervisor, threading.Thread]] = []

    def _run(commands: dict[str, list[str]]) -> tuple[FastSupervisor, io.StringIO]:
        out = io.StringIO()
        sup = FastSupervisor(commands, dict(os.environ), out=out, cwd=tmp_path)
        thread = threading.Thread(target=sup.run, daemon=True)
        thread.start()
        started.append((sup, thread))
        return sup, out

    yield _run
    for sup, thread in started:
        sup.stop()
        thread.join(timeout=10)


def test_a_crashed_process_is_restarted_and_the_others_keep_running(supervised):
    sup, out = supervised(
        {
            "steady": [PY, "-c", "import time; print('up', flush=True); time.sleep(60)"],
            "crasher": [PY, "-c", "import sys; print('boom', flush=True); sys.exit(3)"],
        }
    )
    steady, crasher = sup.children["steady"], sup.children["crasher"]
    assert wait_for(lambda: steady.proc is not None, 5)
    first_pid = steady.proc.pid
    assert wait_for(lambda: len(crasher.exits) >= 3, 10), out.getvalue()
    assert crasher.exits[:3] == [3, 3, 3]
    # The steady process was never touched.
    assert steady.proc is not None and steady.proc.pid == first_pid and steady.proc.poll() is None
    assert steady.exits == []
    text = out.getvalue()
    assert "crasher exited with code 3" in text and "restarting in" in text
    assert "steady  | up" in text


def test_backoff_doubles_up_to_the_maximum():
    sup = FastSupervisor({"x": ["true"]}, {})
    child = sup.children["x"]
    delays = []
    for failures in range(1, 6):
        child.failures = failures
        delays.append(sup._backoff(child))
    assert delays == [0.2, 0.4, 0.8, 0.8, 0.8]
    assert devserver.Supervisor.BACKOFF_MAX == 30.0


def test_stop_ends_every_process_and_its_children(supervised):
    # A parent with a child of its own, as gunicorn and Celery have.
    script = (
        "import subprocess, sys, time; "
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); time.sleep(60)"
    )
    sup, out = supervised({"parent": [PY, "-c", script]})
    child = sup.children["parent"]
    assert wait_for(lambda: child.proc is not None, 5)
    pgid = child.proc.pid
    time.sleep(0.5)
    sup.stop()
    assert wait_for(lambda: child.proc.poll() is not None, 10)

    def group_gone() -> bool:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        return False

    assert wait_for(group_gone, 10), out.getvalue()


def test_procfile_is_read_with_its_variables():
    commands = devserver.read_procfile(devserver.ROOT / "Procfile", {"PORT": "5123", "SANDBOX_PORT": "5199"})
    assert set(commands) == {"web", "worker", "scheduler", "sandbox"}
    assert "127.0.0.1:5123" in commands["web"]
    assert commands["sandbox"][commands["sandbox"].index("--port") + 1] == "5199"
    assert commands["scheduler"] == ["python", "-m", "tasks.scheduler"]
