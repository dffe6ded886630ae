"""Schema fuzzing of the OpenAPI document (issue #19), in-process over WSGI.

Schemathesis generates valid and invalid requests for every operation of
/api/v1/openapi.json and sends each one with an administrator's token and with an
operator's token, against demo-seeded data in a database of its own. Any 5xx, any response
that does not match its documented schema and any undocumented Content-Type fails the test.

Bounded: FUZZ_MAX_EXAMPLES (default 12) examples per operation and generation mode (valid and
invalid data), each sent twice; about a minute on 2 CPUs. /healthz is left out: its 503 means
"no scheduler heartbeat", which is its job in a process without a scheduler.
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import sqlalchemy as sa
from flask_migrate import upgrade
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

import demo
from auth.models import User
from auth.service import issue_token
from extensions import db
from tests.conftest import make_test_app

pytestmark = pytest.mark.slow

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "12"))
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
TALLY: Counter[str] = Counter()
EXCLUDED = {"/healthz"}


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("fuzz")
    app = make_test_app(
        f"sqlite:///{tmp / 'fuzz.sqlite'}",
        MEDIA_DIR=str(tmp / "media"),
        # No platforms run here: searches fail at once instead of pacing to 60 a minute.
        DISCOVERY_SEARCH_PER_MINUTE=1_000_000,
        SANDBOX_URL="http://127.0.0.1:9",
        PLATFORM_BASE_URLS={p: f"http://127.0.0.1:9/{p}" for p in ("wechat", "weibo", "douyin", "toutiao")},
        ADAPTER_TIMEOUT_SECONDS=1,
    )
    with app.app_context():
        upgrade(directory=str(Path(__file__).resolve().parents[2] / "migrations"))
        demo.seed()
        tokens = {}
        for name in ("admin", "operator"):
            user = db.session.scalar(sa.select(User).where(User.username == name))
            tokens[name], _ = issue_token(user)
        db.session.commit()
    app.fuzz_tokens = tokens
    yield app
    with app.app_context():
        db.engine.dispose()
    print(f"\nschema fuzzing: {len(TALLY)} operations, {sum(TALLY.values())} requests")  # noqa: T201


def _fuzz_operation(operation: Any, mode: GenerationMode, tokens: dict[str, str], failures: list[str]) -> None:
    @given(operation.as_strategy(mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        for role, token in tokens.items():
            TALLY[operation.label] += 1
            response = case.call(headers={"Authorization": f"Bearer {token}"})
            try:
                case.validate_response(response, checks=CHECKS)
            except BaseExceptionGroup as exc:  # schemathesis' FailureGroup
                failures.append(f"{operation.label} [{role}, {mode.value}]: {str(exc)[:1500]}")

    with contextlib.suppress(Unsatisfiable):  # nothing to make invalid (no parameters) in negative mode
        run()


def test_api_answers_every_request_within_its_contract(fuzz_app: Any) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", fuzz_app)
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in EXCLUDED:
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz_operation(operation, mode, fuzz_app.fuzz_tokens, failures)
    assert len(TALLY) >= 45 and sum(TALLY.values()) > 1000
    assert not failures, f"{len(failures)} failures:\n" + "\n\n".join(failures[:20])
