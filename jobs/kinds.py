"""Job kinds: what each package registers in its ``init_app`` (name, label, runner), per app.

Apart from :mod:`jobs.service` so that ``JobRun.label`` (:mod:`jobs.models`) can read a kind's
label without the model importing the service that imports the model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from flask import Flask, current_app, has_app_context

if TYPE_CHECKING:
    from jobs.models import JobRun

EXTENSION = "jobs.kinds"


class ProgressFn(Protocol):
    """What long domain operations call to report progress; :class:`jobs.runner.Progress` is one."""

    def __call__(
        self, done: int, total: int | None = None, message: str | None = None, *, force: bool = False
    ) -> None: ...


def no_progress(done: int, total: int | None = None, message: str | None = None, *, force: bool = False) -> None:
    """For synchronous callers (CLI, API), who show no progress."""


Runner = Callable[["JobRun", Any, ProgressFn], dict[str, Any]]


@dataclass(frozen=True)
class JobKind:
    name: str
    label: str
    runner: Runner


def register_kind(app: Flask, name: str, label: str, runner: Runner) -> None:
    """Make a job kind known to ``app`` (each package's ``init_app`` calls this)."""
    kinds_of(app)[name] = JobKind(name, label, runner)


def kinds_of(app: Flask) -> dict[str, JobKind]:
    kinds: dict[str, JobKind] = app.extensions.setdefault(EXTENSION, {})
    return kinds


def kinds() -> dict[str, JobKind]:
    """The job kinds of the current app."""
    return kinds_of(current_app)  # type: ignore[arg-type]


def kind_label(name: str) -> str:
    kind = kinds().get(name) if has_app_context() else None
    return kind.label if kind else name
