"""Each process's entry module imports on its own, in a fresh interpreter.

Imports sit at the top of modules (ruff PLC0415), so a cycle between two modules shows only when
a process starts from the wrong end of it: the scheduler once died on start with
``cannot import name … from partially initialized module`` while the test app, which imports
the packages in another order, was fine. One interpreter per entry point finds that in seconds.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENTRY_MODULES = [
    "app",
    "tasks.scheduler",
    "tasks.celery_app",
    "tasks.healthcheck",
    "tasks.publishing",
    "tasks.inspection",
    "sandbox.app",
    "devserver",
]


@pytest.mark.parametrize("module", ENTRY_MODULES)
def test_entry_module_imports_alone(module):
    done = subprocess.run(
        [sys.executable, "-c", f"import {module}"], check=False, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
