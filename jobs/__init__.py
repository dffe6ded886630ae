"""Long operations (台账 imports and exports, discovery runs, list imports, report exports) as
background jobs.

A page or API call creates a :class:`JobRun` with its parameters (an uploaded file goes into the
media store), commits, and enqueues the worker task ``tasks.longjobs.run`` by name, so no domain
package imports ``tasks/``. The worker runs the kind's runner, which reports progress; the browser
polls ``GET /api/v1/jobs/<id>`` and the page ``/jobs/<id>`` shows a ``<progress>`` bar, then the
result (counts, row errors, a download).

- ``jobs.models``: the ``JobRun`` row.
- ``jobs.kinds``: the kinds each package registers (name, label, runner).
- ``jobs.service``: create, finish, sweep — flushes only, raises domain errors.
- ``jobs.runner``: ``start`` (create + commit + enqueue, for views), ``enqueue``, ``run`` (the
  worker's body) and ``Progress`` — the part that commits.

Job kinds are registered per app: each package's ``init_app(app)`` calls
``jobs.register_kind(app, name, label, runner)``. This package sits above ``auth`` and ``audit``
(it records to the audit log and loads the user who started a job) and below the domains.
"""

from __future__ import annotations

from flask import Flask

from jobs.kinds import JobKind, ProgressFn, Runner, kind_label, kinds, kinds_of, no_progress, register_kind
from jobs.models import OPEN_STATUSES, STATUS_LABELS, JobRun
from jobs.service import (
    TASK_NAME,
    JobFailed,
    QueueUnavailable,
    create,
    file_of,
    finish,
    job_dict,
    save_file,
    sweep,
    upload_of,
)

__all__ = [
    "OPEN_STATUSES",
    "STATUS_LABELS",
    "TASK_NAME",
    "JobFailed",
    "JobKind",
    "JobRun",
    "ProgressFn",
    "QueueUnavailable",
    "Runner",
    "create",
    "file_of",
    "finish",
    "init_app",
    "job_dict",
    "kind_label",
    "kinds",
    "kinds_of",
    "no_progress",
    "register_kind",
    "save_file",
    "sweep",
    "upload_of",
]


def init_app(app: Flask) -> None:
    """An empty registry of job kinds; the domain packages' ``init_app`` fill it."""
    kinds_of(app)
