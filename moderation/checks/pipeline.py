"""The pipeline: every check over every field, one shared scan per field, hot reload of data."""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from flask import current_app, has_app_context

from moderation.checks.base import (
    BLOCK,
    Check,
    CheckFinding,
    DefaultLexicon,
    FindingsHook,
    Hit,
    Row,
    RowCheck,
    ScanContext,
    new_finding,
)
from moderation.checks.data import DataFileError, Lexicon
from moderation.checks.links import LinkCheck
from moderation.checks.privacy import AddressCheck, PhoneIdCardCheck
from moderation.checks.secrecy import SecrecyCheck
from moderation.checks.terms import (
    CommercialWordingCheck,
    LeaderCheck,
    SensitiveTermCheck,
    SeriousErrorCheck,
)

log = logging.getLogger(__name__)

DATA_DIR_ENV = "GOVMEDIA_CHECKS_DATA_DIR"
DEFAULT_RELOAD_INTERVAL = 5.0


def default_checks() -> list[Check]:
    return [
        SensitiveTermCheck(),
        CommercialWordingCheck(),
        SeriousErrorCheck(),
        LeaderCheck(),
        SecrecyCheck(),
        PhoneIdCardCheck(),
        AddressCheck(),
        LinkCheck(),
    ]


class CheckPipeline:
    """Runs the checks over the fields of one item.

    ``data_dir``: directory with the office's data files (a file missing there falls back to the
    packaged starter file).  ``reload_interval``: at most this often (seconds) ``run`` stats the
    data files and rebuilds when one changed; 0 = on every run, None = only on ``reload()``.
    ``hooks``: callables ``hook(fields) -> findings`` appended to every run (e.g. platform limits).
    ``engine``: the automaton ("daachorse" or "pyahocorasick"; default: see engines.py).
    """

    def __init__(
        self,
        checks: Sequence[Check] | None = None,
        data_dir: str | os.PathLike[str] | None = None,
        *,
        hooks: Iterable[FindingsHook] = (),
        reload_interval: float | None = DEFAULT_RELOAD_INTERVAL,
        engine: str | None = None,
    ) -> None:
        self._data_dir = Path(data_dir) if data_dir is not None else None
        self._engine = engine
        self._lexicon = Lexicon.load(self._data_dir, engine)
        self._checks: list[Check] = list(checks) if checks is not None else default_checks()
        # Per check: (check, the ScanContext kinds it needs, its kind, whether ``rows`` can be
        # used — a RowCheck whose ``check`` is not overridden).  Built on the first run.
        self._plan: list[tuple[Any, tuple[str, ...], str, bool]] | None = None
        self._hooks: list[FindingsHook] = list(hooks)
        self._reload_interval = reload_interval
        self._next_stat = time.monotonic() + (reload_interval or 0.0)
        self._lock = threading.Lock()

    @property
    def lexicon(self) -> Lexicon:
        return self._lexicon

    @property
    def checks(self) -> tuple[Check, ...]:
        return tuple(self._checks)

    @property
    def data_dir(self) -> Path | None:
        return self._data_dir

    def add_check(self, check: Check) -> None:
        self._checks.append(check)
        self._plan = None

    def add_hook(self, hook: FindingsHook) -> None:
        self._hooks.append(hook)

    # ------------------------------------------------------------ reloading

    def reload(self) -> Lexicon:
        """Re-read all data files now.  Raises DataFileError (and keeps the old data) on a bad line."""
        with self._lock:
            lexicon = Lexicon.load(self._data_dir, self._engine)
            self._lexicon = lexicon
        log.info("审核词库已重新加载：%s", lexicon.counts)
        return lexicon

    def maybe_reload(self) -> bool:
        """Reload if the interval has passed and a data file changed; never raises on bad data."""
        if self._reload_interval is None:
            return False
        now = time.monotonic()
        if now < self._next_stat:
            return False
        if not self._lock.acquire(blocking=False):
            return False  # another thread is already checking/reloading
        try:
            self._next_stat = now + self._reload_interval
            if not self._lexicon.changed_on_disk():
                return False
            try:
                self._lexicon = Lexicon.load(self._data_dir, self._engine)
            except (DataFileError, OSError):
                log.exception("审核词库文件有误，继续使用原词库")
                # Do not retry the same broken files every run: remember their signature.
                old = self._lexicon
                self._lexicon = dataclasses.replace(old, signature=old.current_signature())
                return False
            log.info("审核词库文件已变更，已自动重新加载：%s", self._lexicon.counts)
            return True
        finally:
            self._lock.release()

    # ------------------------------------------------------------ running

    def run(self, fields: Mapping[str, str | None], *, extra: Iterable[CheckFinding] = ()) -> list[CheckFinding]:
        """All findings for the item's fields, ordered by field then position, block first.

        A finding repeating an earlier one's kind, field, span and rule is left out."""
        self.maybe_reload()
        lexicon = self._lexicon
        plan = self._plan
        if plan is None:
            plan = self._plan = [_plan(c) for c in self._checks]
        # (field order, start, end, not blocking, kind, sequence, finding) sorts like the findings.
        rows: list[tuple[int, int, int, bool, str, int, CheckFinding]] = []
        seen: set[tuple[str, str, int, int, str]] = set()
        seen_add, rows_append = seen.add, rows.append
        order: dict[str, int] = {}
        for name, text in fields.items():
            field_no = order[name] = len(order)
            if not text:
                continue
            ctx = ScanContext(text, lexicon, name)
            buckets = ctx.buckets()
            for check, needs, check_kind, fast in plan:
                if needs:
                    for kind in needs:
                        if kind in buckets:
                            break
                    else:
                        continue  # nothing in this text for it
                found = check.rows(text, ctx) if fast else map(_row, check.check(text, ctx))
                for start, end, shown, severity, message, rule, suggestion, own_kind in found:
                    kind = own_kind or check_kind
                    key = (kind, name, start, end, rule)
                    if key in seen:
                        continue
                    seen_add(key)
                    finding = new_finding(kind, severity, name, start, end, shown, message, suggestion, rule)
                    rows_append((field_no, start, end, severity != BLOCK, kind, len(rows), finding))
        for finding in _chain(self._hooks, fields, extra):
            key = (finding.kind, finding.field, finding.start, finding.end, finding.rule)
            if key in seen:
                continue
            seen.add(key)
            no = order.get(finding.field, len(order))
            rows.append((no, finding.start, finding.end, finding.severity != BLOCK, finding.kind, len(rows), finding))
        rows.sort()
        return [r[6] for r in rows]

    def check_text(self, text: str, field: str = "body") -> list[CheckFinding]:
        return self.run({field: text})


def _plan(check: Check) -> tuple[Any, tuple[str, ...], str, bool]:
    """(check, the ScanContext kinds it needs, its kind, whether ``rows`` can stand in for ``check``)."""
    if isinstance(check, RowCheck):
        return (check, check.needs, check.kind, type(check).check is RowCheck.check)
    return (check, (), check.kind, False)


def _row(h: Hit) -> Row:
    return (h.start, h.end, h.text, h.severity, h.message, h.rule, h.suggestion, h.kind)


def _chain(
    hooks: list[FindingsHook], fields: Mapping[str, str | None], extra: Iterable[CheckFinding]
) -> Iterator[CheckFinding]:
    for hook in hooks:
        yield from hook(fields)
    yield from extra


class _Default:
    pipeline: CheckPipeline | None = None
    lock = threading.Lock()


def default_pipeline() -> CheckPipeline:
    """The process-wide pipeline (compiled once; data dir and engine from the app's
    ``CHECKS_DATA_DIR`` / ``CHECKS_ENGINE``, which config.py reads from $GOVMEDIA_CHECKS_DATA_DIR
    and $GOVMEDIA_CHECKS_ENGINE)."""
    pipeline = _Default.pipeline
    if pipeline is None:
        with _Default.lock:
            if _Default.pipeline is None:
                config = current_app.config if has_app_context() else {}
                _Default.pipeline = CheckPipeline(
                    data_dir=config.get("CHECKS_DATA_DIR") or None, engine=config.get("CHECKS_ENGINE") or None
                )
            pipeline = _Default.pipeline
    return pipeline


DefaultLexicon.source = lambda: default_pipeline().lexicon


def configure_default_pipeline(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    reload_interval: float | None = DEFAULT_RELOAD_INTERVAL,
    hooks: Iterable[FindingsHook] = (),
) -> CheckPipeline:
    """Replace the process-wide pipeline (e.g. from the app factory with the instance data dir)."""
    pipeline = CheckPipeline(data_dir=data_dir, hooks=hooks, reload_interval=reload_interval)
    with _Default.lock:
        _Default.pipeline = pipeline
    return pipeline


def reset_default_pipeline() -> None:
    with _Default.lock:
        _Default.pipeline = None
