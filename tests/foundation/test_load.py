"""The embedded default under load (issue #19): bench/load.py's bounded run against `make run`.

devserver.py on SQLite + the SQLAlchemy broker, 20 clients × 20 s of mixed reads and writes, an
operator's spreadsheet import and a 12,000-row background import in the middle: no 5xx, no
unanswered request, no process exit. Then a process killed outright is restarted by
devserver.py while the web keeps answering.
"""

from __future__ import annotations

import os
import signal
import sys
import time

import pytest
import requests

from bench import load

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_twenty_clients_with_an_import_in_the_middle_and_a_crash_restarted():
    args = load.build_parser().parse_args(["--seconds", "20", "--clients", "20"])
    with load.start_stack("sqlite") as stack:
        report = load.run_load(stack, seconds=args.seconds, clients=args.clients, backend="sqlite", args=args)
        sys.stdout.write(report.text() + "\n")  # the figures, with pytest -s
        assert report.five_xx == 0, report.text()
        assert report.no_answer == 0, report.text()
        assert report.exits == [], report.text()
        assert report.errors == [], report.text()
        assert report.job is not None and report.job[0] == "done", report.text()
        assert report.by_name.get("create draft", 0) > 0 and report.by_name.get("dashboard", 0) > 0

        # A crash: the scheduler is killed; devserver.py starts it again, the rest keeps running.
        pid, _start = stack.started["scheduler"]
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            now = stack.role_pids()
            if "scheduler" in now and now["scheduler"][0] != pid:
                break
            time.sleep(0.5)
        now = stack.role_pids()
        assert "scheduler" in now and now["scheduler"][0] != pid, stack.output()[-4000:]
        for role in ("web", "worker", "sandbox"):
            assert now[role] == stack.started[role], f"{role} was restarted too"
        assert stack.devserver is not None and stack.devserver.poll() is None
        assert "scheduler exited with code" in stack.output()
        assert requests.get(f"{stack.base_url}/healthz", timeout=10).status_code in (200, 503)
