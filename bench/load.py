"""Load test of the whole stack `make run` starts (issue #19): many clients, mixed reads and writes.

    .venv/bin/python bench/load.py                          # starts devserver.py on SQLite, 20 clients × 60 s
    .venv/bin/python bench/load.py --seconds 20 --clients 10
    .venv/bin/python bench/load.py --backend postgresql      # the same processes on PostgreSQL + Redis
    .venv/bin/python bench/load.py --base-url http://127.0.0.1:5000   # an already running `make run`

By default it starts ``devserver.py`` itself (the command `make run` runs) on free ports with
fresh files (SQLite: a temporary database and broker; PostgreSQL: a new database on
127.0.0.1:5432, dropped afterwards, and Redis — ``BENCH_REDIS_URL``, by default the tests' — as
broker, its keys behind a namespace of their own from ``devkit.services.redis_namespace``
(REDIS_KEY_PREFIX), removed afterwards), so it can tell whether any process — web, worker,
scheduler, sandbox — exited during the run. With ``--base-url`` it
drives a stack you started, issuing API tokens with ``flask users token`` (same environment,
so the same DATABASE_URL), and cannot see process exits.

Clients (threads, one HTTP session each) run for ``--seconds``: 70 % reads — the ledger list
(``GET /api/v1/accounts``, as admin and as operator), the contents list (``GET
/api/v1/contents``), the dashboard page (``GET /``, logged in as operator) — and 30 % writes —
create a draft (``POST /api/v1/contents``) and edit one of the client's drafts (``PATCH``).
Half-way, the operator imports a small spreadsheet (``--import-rows`` new accounts, ~1.6 KB,
synchronously) and the admin imports a larger one as a background job (``--job-rows``),
followed until done. Prints counts, 5xx, errors, read and write p50/p95/max and process exits;
exits 1 on any 5xx, connection error, failed import or process exit.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.registry import database
from devkit import processes, services

BIN = Path(sys.executable).parent
BENCH_REDIS = os.environ.get("BENCH_REDIS_URL", services.REDIS_URL)
PASSWORD = "demo12345"  # noqa: S105 - the published password of the demo logins (demo.py)
OPERATOR_UNIT = "示范县人民政府"
ROLES = {"web": "gunicorn", "worker": "celery", "scheduler": "tasks.scheduler", "sandbox": "sandbox"}
# Environment that would move the stack off the chosen backend.
NOT_DEFAULT = (
    "REDIS_URL",
    "REDIS_KEY_PREFIX",
    "RATELIMIT_STORAGE_URI",
    "SANDBOX_URL",
    "SANDBOX_STATE",
    "FLASK_APP",
    "DATABASE_URL",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ----------------------------------------------------------------------------- the stack


def _descendants(root: int) -> dict[int, tuple[int, str, str]]:
    """Every live process below ``root``: pid → (parent pid, start time, command line)."""
    info: dict[int, tuple[int, str, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        if fields[0] != "Z":
            info[int(entry.name)] = (int(fields[1]), fields[19], cmd)
    found: dict[int, tuple[int, str, str]] = {}
    todo = [root]
    while todo:
        parent = todo.pop()
        for pid, row in info.items():
            if row[0] == parent and pid not in found:
                found[pid] = row
                todo.append(pid)
    return found


@dataclass
class Stack:
    """A running `make run` (devserver.py) started by this script, or one given by --base-url."""

    base_url: str
    env: dict[str, str]
    devserver: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    started: dict[str, tuple[int, str]] = field(default_factory=dict)  # role → (pid, start time)

    def role_pids(self) -> dict[str, tuple[int, str]]:
        if self.devserver is None:
            return {}
        below = _descendants(self.devserver.pid)
        out: dict[str, tuple[int, str]] = {}

        def runs(cmd: str, needle: str) -> bool:
            return needle in cmd and not cmd.startswith(("/bin/sh ", "sh "))  # not a shell around it

        for pid, (parent, start, cmd) in below.items():
            for role, needle in ROLES.items():
                # the role's top process: gunicorn's master, not its workers
                if runs(cmd, needle) and not runs(below.get(parent, (0, "", ""))[2], needle):
                    out[role] = (pid, start)
        return out

    def exits(self) -> list[str]:
        """Processes that exited since the start (the supervisor restarts them; its log says so)."""
        if self.devserver is None:
            return []
        found = []
        if self.devserver.poll() is not None:
            found.append(f"devserver.py exited with {self.devserver.returncode}")
        now = self.role_pids()
        for role, pid_start in self.started.items():
            if now.get(role) != pid_start:
                found.append(f"{role} (pid {pid_start[0]}) exited")
        if self.log_path is not None:
            found += [line for line in self.output().splitlines() if " exited with code " in line]
        return found

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""


@contextlib.contextmanager
def _database(backend: str, workdir: Path) -> Iterator[dict[str, str]]:
    if backend == "sqlite":
        yield {
            "DATABASE_URL": f"sqlite:///{workdir / 'govmedia.sqlite'}",
            "BROKER_URL": f"sqla+sqlite:///{workdir / 'broker.sqlite'}",
        }
        return
    # a new database, dropped afterwards; the broker's, tokens' and rate limits' keys in a namespace of their own
    with database("postgresql") as url, services.redis_namespace(BENCH_REDIS, label="bench") as prefix:
        yield {"DATABASE_URL": url, "BROKER_URL": BENCH_REDIS, "REDIS_URL": BENCH_REDIS, "REDIS_KEY_PREFIX": prefix}


@contextlib.contextmanager
def start_stack(backend: str = "sqlite", startup_seconds: float = 180) -> Iterator[Stack]:
    """devserver.py on free ports and fresh files/databases; stopped with Ctrl-C (SIGINT) afterwards."""
    instance = ROOT / "instance"
    saved = {
        n: (instance / n).read_bytes() if (instance / n).exists() else None
        for n in ("sandbox.json", "sandbox-seed.json")
    }
    with tempfile.TemporaryDirectory(prefix="govmedia-load-") as tmp, _database(backend, Path(tmp)) as db_env:
        workdir = Path(tmp)
        port, sandbox_port = free_port(), free_port()
        env = {k: v for k, v in os.environ.items() if k not in NOT_DEFAULT}
        env.update(db_env, PORT=str(port), SANDBOX_PORT=str(sandbox_port), MEDIA_DIR=str(workdir / "media"))
        env["PYTHONUNBUFFERED"] = "1"
        log_path = workdir / "devserver.log"
        with log_path.open("wb") as log:
            devserver = subprocess.Popen(
                [str(BIN / "python"), "devserver.py"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        stack = Stack(f"http://127.0.0.1:{port}", env, devserver, log_path)
        try:
            _wait_healthy(stack, startup_seconds)
            stack.started = stack.role_pids()
            missing = set(ROLES) - set(stack.started)
            if missing:
                raise RuntimeError(f"not running: {sorted(missing)}\n{stack.output()[-4000:]}")
            yield stack
        finally:
            if devserver.poll() is None:
                os.killpg(devserver.pid, signal.SIGINT)
                try:
                    devserver.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(devserver.pid, signal.SIGKILL)
                    devserver.wait(timeout=10)
            for name, data in saved.items():  # the Procfile keeps the sandbox's files under instance/
                if data is None:
                    (instance / name).unlink(missing_ok=True)
                else:
                    (instance / name).write_bytes(data)


def _wait_healthy(stack: Stack, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if stack.devserver is not None and stack.devserver.poll() is not None:
            raise RuntimeError(f"devserver.py exited with {stack.devserver.returncode}:\n{stack.output()[-4000:]}")
        with contextlib.suppress(requests.RequestException):
            answer = requests.get(f"{stack.base_url}/healthz", timeout=5)
            if answer.status_code == 200:
                return
        time.sleep(1)
    raise RuntimeError(f"no healthy /healthz within {timeout:.0f} s:\n{stack.output()[-4000:]}")


def issue_token(env: dict[str, str], username: str) -> str:
    out = processes.flask_cli(env, "users", "token", username, "--name", "bench-load")
    if out.returncode != 0:
        raise RuntimeError(f"flask users token {username}: {out.stderr}")
    return out.stdout.strip().splitlines()[-1]


# ----------------------------------------------------------------------------- the load


@dataclass
class Sample:
    kind: str  # read | write | import
    name: str
    status: int  # 0: no answer (connection error or timeout)
    seconds: float


@dataclass
class Results:
    samples: list[Sample] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, sample: Sample, detail: str = "") -> None:
        with self.lock:
            self.samples.append(sample)
            if sample.status == 0 or sample.status >= 500:
                self.errors.append(f"{sample.name}: {sample.status or 'no answer'} {detail[:300]}")


class Client:
    def __init__(self, base: str, results: Results, timeout: float) -> None:
        self.base = base
        self.results = results
        self.timeout = timeout
        self.http = requests.Session()

    def call(self, kind: str, name: str, method: str, path: str, expect: tuple[int, ...], **kw: Any) -> Any:
        started = time.monotonic()
        try:
            answer = self.http.request(method, f"{self.base}{path}", timeout=self.timeout, **kw)
        except requests.RequestException as exc:
            self.results.add(Sample(kind, name, 0, time.monotonic() - started), f"{type(exc).__name__}: {exc}")
            return None
        self.results.add(Sample(kind, name, answer.status_code, time.monotonic() - started), answer.text)
        if answer.status_code not in expect:
            with self.results.lock:
                self.results.errors.append(f"{name}: unexpected {answer.status_code} {answer.text[:300]}")
            return None
        return answer


def login(base: str, username: str) -> requests.cookies.RequestsCookieJar:
    http = requests.Session()
    form = http.get(f"{base}/login", timeout=30)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    if token is None:
        raise RuntimeError(f"no login form at {base}/login")
    answer = http.post(
        f"{base}/login", data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)}, timeout=30
    )
    if answer.url.startswith(f"{base}/login"):
        raise RuntimeError(f"login as {username} failed: {answer.status_code}")
    return http.cookies


def import_csv(rows: int, unit: str, tag: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["平台", "平台账号ID", "账号名称", "主办单位", "认证主体", "是否已认证", "重复开设理由"])
    for i in range(rows):
        writer.writerow(["微博", f"load{tag}{i:05d}", f"压测账号{tag}-{i}", unit, unit, "是", "压测：同平台多账号"])
    return out.getvalue().encode("utf-8-sig")


def client_loop(client: Client, op_token: str, admin_token: str, targets: list[int], stop: threading.Event) -> None:
    op = {"Authorization": f"Bearer {op_token}"}
    admin = {"Authorization": f"Bearer {admin_token}"}
    drafts: list[int] = []
    rnd = random.Random()
    while not stop.is_set():
        roll = rnd.random()
        if roll < 0.2:
            page = rnd.randint(1, 3)
            client.call(
                "read", "ledger (admin)", "GET", f"/api/v1/accounts?page={page}&per_page=50", (200,), headers=admin
            )
        elif roll < 0.35:
            client.call("read", "ledger (operator)", "GET", "/api/v1/accounts?per_page=50", (200,), headers=op)
        elif roll < 0.55:
            client.call("read", "contents", "GET", "/api/v1/contents?per_page=20", (200,), headers=op)
        elif roll < 0.7:
            client.call("read", "dashboard", "GET", "/", (200,))  # the session cookie (operator)
        elif roll < 0.85 or not drafts:
            body = {
                "title": f"压测稿件 {uuid.uuid4().hex[:6]}",
                "body": "<p>示范县开展秋季森林防火宣传活动，提醒群众文明祭扫、严禁野外用火。</p>",
                "target_ids": targets[:2],
            }
            answer = client.call("write", "create draft", "POST", "/api/v1/contents", (201,), json=body, headers=op)
            if answer is not None:
                drafts.append(answer.json()["id"])
        else:
            content_id = rnd.choice(drafts)
            body = {"body": f"<p>修改于 {time.strftime('%H:%M:%S')}：请广大群众注意防火安全。</p>"}
            client.call("write", "edit draft", "PATCH", f"/api/v1/contents/{content_id}", (200,), json=body, headers=op)


def run_imports(base: str, results: Results, op_token: str, admin_token: str, args: argparse.Namespace) -> None:
    client = Client(base, results, timeout=300)
    tag = uuid.uuid4().hex[:4]
    small = import_csv(args.import_rows, OPERATOR_UNIT, f"{tag}o")
    results.import_bytes = len(small)  # type: ignore[attr-defined]
    client.call(
        "import",
        "import (operator, sync)",
        "POST",
        "/api/v1/registry/imports",
        (200,),
        files={"file": ("台账.csv", small, "text/csv")},
        headers={"Authorization": f"Bearer {op_token}"},
    )
    if args.job_rows <= 0:
        return
    big = import_csv(args.job_rows, OPERATOR_UNIT, f"{tag}a")
    admin = {"Authorization": f"Bearer {admin_token}"}
    started = time.monotonic()
    answer = client.call(
        "import",
        "import job (admin) queued",
        "POST",
        "/api/v1/registry/imports",
        (202,),
        files={"file": ("台账.csv", big, "text/csv")},
        data={"async": "true"},
        headers=admin,
    )
    if answer is None:
        return
    job_url = answer.headers["Location"]
    while time.monotonic() - started < 600:
        poll = client.call("read", "job status", "GET", job_url, (200,), headers=admin)
        status = poll.json()["status"] if poll is not None else "?"
        if status in ("done", "failed"):
            results.job = (status, time.monotonic() - started, poll.json().get("message"))  # type: ignore[attr-defined]
            if status == "failed":
                with results.lock:
                    results.errors.append(f"import job failed: {poll.json()}")
            return
        time.sleep(1)
    with results.lock:
        results.errors.append("import job not finished within 600 s")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


@dataclass
class Report:
    backend: str
    seconds: float
    clients: int
    requests: int
    by_name: dict[str, int]
    five_xx: int
    no_answer: int
    errors: list[str]
    read_ms: tuple[float, float, float]
    write_ms: tuple[float, float, float]
    import_ms: dict[str, float]
    job: tuple[str, float, str] | None
    exits: list[str]

    @property
    def ok(self) -> bool:
        return not self.five_xx and not self.no_answer and not self.exits and not self.errors

    def text(self) -> str:
        lines = [
            f"backend {self.backend}: {self.clients} clients × {self.seconds:.0f} s, {self.requests} requests "
            f"({self.requests / max(self.seconds, 1):.1f}/s)",
            "  " + ", ".join(f"{name} {n}" for name, n in sorted(self.by_name.items())),
            f"  5xx: {self.five_xx}   no answer: {self.no_answer}   other errors: {len(self.errors)}   "
            f"process exits: {len(self.exits)}",
            "  read  p50 {:.0f} ms  p95 {:.0f} ms  max {:.0f} ms".format(*self.read_ms),
            "  write p50 {:.0f} ms  p95 {:.0f} ms  max {:.0f} ms".format(*self.write_ms),
        ]
        lines += [f"  {name}: {ms:.0f} ms" for name, ms in self.import_ms.items()]
        if self.job:
            lines.append(f"  import job: {self.job[0]} after {self.job[1]:.1f} s ({self.job[2]})")
        lines += [f"  EXIT  {e}" for e in self.exits]
        lines += [f"  ERROR {e}" for e in self.errors[:20]]
        lines.append("  PASS" if self.ok else "  FAIL")
        return "\n".join(lines)


def run_load(stack: Stack, *, seconds: float, clients: int, backend: str, args: argparse.Namespace) -> Report:
    base = stack.base_url
    op_token, admin_token = issue_token(stack.env, "operator"), issue_token(stack.env, "admin")
    cookies = login(base, "operator")
    ledger = requests.get(
        f"{base}/api/v1/accounts?status=active&per_page=50", headers={"Authorization": f"Bearer {op_token}"}, timeout=30
    ).json()
    targets = [a["id"] for a in ledger["items"]]
    results = Results()
    stop = threading.Event()
    threads = []
    for _ in range(clients):
        client = Client(base, results, timeout=args.timeout)
        client.http.cookies.update(cookies)
        threads.append(threading.Thread(target=client_loop, args=(client, op_token, admin_token, targets, stop)))
    started = time.monotonic()
    for thread in threads:
        thread.start()
    stop.wait(seconds / 2)
    importer = threading.Thread(target=run_imports, args=(base, results, op_token, admin_token, args))
    importer.start()
    stop.wait(max(0.0, seconds - (time.monotonic() - started)))
    stop.set()
    for thread in threads:
        thread.join(timeout=args.timeout + 5)
    importer.join(timeout=600)
    elapsed = time.monotonic() - started
    samples = results.samples
    by_name: dict[str, int] = {}
    for s in samples:
        by_name[s.name] = by_name.get(s.name, 0) + 1

    def ms(kind: str) -> tuple[float, float, float]:
        values = [s.seconds * 1000 for s in samples if s.kind == kind and 0 < s.status < 500]
        return percentile(values, 0.5), percentile(values, 0.95), max(values, default=float("nan"))

    return Report(
        backend=backend,
        seconds=elapsed,
        clients=clients,
        requests=len(samples),
        by_name=by_name,
        five_xx=sum(1 for s in samples if s.status >= 500),
        no_answer=sum(1 for s in samples if s.status == 0),
        errors=results.errors,
        read_ms=ms("read"),
        write_ms=ms("write"),
        import_ms={s.name: s.seconds * 1000 for s in samples if s.kind == "import"},
        job=getattr(results, "job", None),
        exits=stack.exits(),
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--base-url", help="drive a stack that is already running (no process-exit check)")
    parser.add_argument("--import-rows", type=int, default=20, help="rows of the operator's synchronous import")
    parser.add_argument("--job-rows", type=int, default=12_000, help="rows of the admin's background import (0: none)")
    parser.add_argument("--timeout", type=float, default=60, help="per request, seconds")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.base_url:
        env = os.environ.copy()
        report = run_load(
            Stack(args.base_url.rstrip("/"), env),
            seconds=args.seconds,
            clients=args.clients,
            backend="given",
            args=args,
        )
    else:
        with start_stack(args.backend) as stack:
            report = run_load(stack, seconds=args.seconds, clients=args.clients, backend=args.backend, args=args)
    print(report.text(), flush=True)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
