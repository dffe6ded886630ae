"""The platform tests build adapters without an app: do the process setup create_app does."""

from __future__ import annotations

import pytest

from platforms.session import install_log_redaction


@pytest.fixture(autouse=True, scope="session")
def _log_redaction() -> None:
    install_log_redaction()
