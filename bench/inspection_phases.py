"""The first read's figures beside bench/inspection.py's own (split from it to keep modules short):
:class:`Phases` (``--phases``: CPU per step, µs per post) and :func:`findings_digest` (what the
findings are, to compare two versions of the code on the same seed)."""

from __future__ import annotations

import os
import time
from itertools import pairwise
from pathlib import Path
from typing import Any


class Phases:
    """``--phases``: wraps the steps :func:`oversight.inspection.service.apply_many` calls (the
    names it imported) and sums the CPU time of each; for the batch-wide steps also the PostgreSQL
    backend's. Nothing else runs inside them, so the rest of ``apply_many`` is what is left."""

    PER_POST = ("run_checks", "judge_checks", "judge_tamper", "_set_tamper")  # called per post: no backend reading
    BATCH = (
        "_prefetch_profiles",
        "_profile_checks",
        "deliveries_by_account",
        "stored_many",
        "views_by_id",
        "prefetch_deliveries",
        "_write_posts",
        "regroup_many",
        "flush_writers",
    )

    def __init__(self) -> None:
        from oversight.inspection import service, trace

        self.cpu: dict[str, float] = {}
        self.backend: dict[str, float] = {}
        self.saved: list[tuple[Any, str, Any]] = []
        self.pid: int | None = None
        in_trace = ("deliveries_by_account", "prefetch_deliveries")  # called as trace.<name>
        for name in (*self.PER_POST, *self.BATCH):
            module = trace if name in in_trace else service
            fn = getattr(module, name)
            self.saved.append((module, name, fn))
            setattr(module, name, self._wrap(name, fn, name in self.BATCH))

    def _backend_now(self) -> float | None:
        from extensions import db

        if db.engine.dialect.name != "postgresql":
            return None
        if self.pid is None:
            self.pid = db.session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar()
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def _wrap(self, name: str, fn: Any, batch: bool) -> Any:
        cpu, backend = self.cpu, self.backend

        def timed(*args: Any, **kwargs: Any) -> Any:
            b0 = self._backend_now() if batch else None
            c0 = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                cpu[name] = cpu.get(name, 0.0) + time.process_time() - c0
                if b0 is not None:
                    b1 = self._backend_now()
                    backend[name] = backend.get(name, 0.0) + (b1 or b0) - b0

        return timed

    def remove(self) -> None:
        for module, name, fn in self.saved:
            setattr(module, name, fn)

    def table(self, posts: int, total_cpu: float, total_backend: float | None) -> list[str]:
        lines = [f"first read by step, µs per post ({posts} posts): {'CPU':>8} {'backend':>8}"]
        for name in (*self.PER_POST, *self.BATCH):
            if name in self.cpu:
                b = self.backend.get(name)
                lines.append(
                    f"  {name:<44} {self.cpu[name] / posts * 1e6:8.1f} {'' if b is None else f'{b / posts * 1e6:8.1f}'}"
                )
        rest = total_cpu - sum(self.cpu.values())
        rest_b = None if total_backend is None else total_backend - sum(self.backend.values())
        lines.append(
            f"  {'rest: apply_many itself, the commits':<44} {rest / posts * 1e6:8.1f} "
            + ("" if rest_b is None else f"{rest_b / posts * 1e6:8.1f}")
        )
        lines.append(
            f"  {'total':<44} {total_cpu / posts * 1e6:8.1f} "
            + ("" if total_backend is None else f"{total_backend / posts * 1e6:8.1f}")
        )
        return lines


def findings_digest() -> str:
    """A line: the findings by kind, a digest of every finding's (kind, fingerprint, status,
    confidence, material evidence) — stable across runs on the same day with the same seed and
    sizes (a fingerprint of ``unreviewed_post`` names the day) — and how many created findings
    the audit log names (``inspection:findings`` entries)."""
    import hashlib
    from collections import Counter

    import sqlalchemy as sa

    from audit.models import AuditEntry
    from extensions import db
    from oversight.findings import evidence_hash
    from oversight.models import Finding

    # Plain rows streamed in pages (no ORM objects: 92,103 findings' evidence held at once would add ≈ 0.7 GB to
    # the bench's peak memory).
    rows = db.session.execute(
        sa.select(Finding.kind, Finding.fingerprint, Finding.status, Finding.confidence, Finding.evidence),
        execution_options={"yield_per": 2000},
    )
    lines = sorted(
        f"{kind.value}|{fingerprint}|{status.value}|{confidence}|{evidence_hash(kind, evidence or {})}"
        for kind, fingerprint, status, confidence, evidence in rows
    )
    kinds = Counter(line.split("|", 1)[0] for line in lines)
    digest = hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]
    audited = sum(
        len((after or {}).get("created") or ())
        for after in db.session.scalars(sa.select(AuditEntry.after).where(AuditEntry.action == "inspection:findings"))
    )
    return (
        f"findings:          {dict(sorted(kinds.items()))}; digest {digest}; {audited} created findings named in the "
        "audit log"
    )


def store_floor(batch: int, server_cpu: Any) -> tuple[float, float, float | None, int]:
    """What storing the first read's posts costs at the least: the ``live_posts`` rows it wrote,
    written again by the database itself (``INSERT … SELECT``, no client encoding or transfer) into
    a copy of the table with its indexes and column settings, ``batch`` rows per transaction,
    committed. A floor under any trace-and-check path that keeps every post (the re-scan and the
    tamper comparison need the text), to say how much of the first read is the path's own work.
    Returns wall and process CPU seconds, the backend's CPU seconds (PostgreSQL, else None) and the
    rows written; the copy is dropped afterwards."""
    import sqlalchemy as sa

    from extensions import db

    conn = db.session.connection()
    conn.exec_driver_sql("DROP TABLE IF EXISTS bench_store_floor")
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("CREATE TABLE bench_store_floor (LIKE live_posts INCLUDING ALL)")
    else:  # SQLite: the table's own DDL and its indexes', renamed
        for ddl in conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE tbl_name = 'live_posts' AND sql IS NOT NULL ORDER BY type DESC"
        ).scalars():
            conn.exec_driver_sql(ddl.replace("live_posts", "bench_store_floor"))
    ids = conn.exec_driver_sql("SELECT id FROM live_posts ORDER BY id").scalars().all()
    db.session.commit()
    bounds = [ids[i] for i in range(0, len(ids), batch)] + [ids[-1] + 1] if ids else []
    s0 = server_cpu()
    t0, c0 = time.perf_counter(), time.process_time()
    for lo, hi in pairwise(bounds):
        db.session.execute(
            sa.text("INSERT INTO bench_store_floor SELECT * FROM live_posts WHERE id >= :lo AND id < :hi"),
            {"lo": lo, "hi": hi},
        )
        db.session.commit()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    s1 = server_cpu()
    db.session.execute(sa.text("DROP TABLE bench_store_floor"))
    db.session.commit()
    return wall, cpu, (None if s0 is None or s1 is None else s1 - s0), len(ids)
