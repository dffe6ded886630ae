"""`make run`: migrate, seed demo data, then run web + worker + scheduler + sandbox together.

The processes are the Procfile's; a small supervisor here (:class:`Supervisor`) runs them. A
process that exits on its own is started again after a backoff (1 s, doubling up to 30 s; back
to 1 s once it has run for a minute) while the others keep running — one crash never takes the
whole stack down. Ctrl-C (or SIGTERM) stops every process cleanly: each gets SIGTERM and, after
5 s, SIGKILL; then this script exits (130 after Ctrl-C). Production runs the same processes
under its own supervisor (docker-compose ``restart: unless-stopped``; see README).
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent


def main() -> int:
    os.chdir(ROOT)
    (ROOT / "instance").mkdir(exist_ok=True)
    env = os.environ.copy()
    env.setdefault("PORT", "5000")
    env.setdefault("SANDBOX_PORT", "5100")
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    flask = [str(BIN / "flask"), "--app", "app"]
    subprocess.run([*flask, "db", "upgrade"], check=True, env=env)
    # The demo only: the worker inspects and polls once right away, so 问题线索 is not empty.
    subprocess.run([*flask, "seed-demo", "--first-sweep"], check=True, env=env)
    # the embedded broker's queues exist before the worker and the scheduler race to create them
    subprocess.run([*flask, "broker-init"], check=True, env=env)
    url = f"http://127.0.0.1:{env['PORT']}/"
    banner = f"""
==========================================================================
 政务新媒体台账与发布平台已启动 / govmedia is running
   网页 Web:        {url}
   API 文档:        {url}api/v1/docs
   模拟平台 Sandbox: http://127.0.0.1:{env["SANDBOX_PORT"]}/_sandbox/
   演示账号（密码 demo12345）: operator 运营 · reviewer1/2/3 初审/复审/终审 ·
                              auditor 网信办 · admin 管理员 · edu_operator 教育局运营
   按 Ctrl-C 停止全部进程 / Ctrl-C stops everything
==========================================================================
"""
    print(banner, flush=True)
    return Supervisor(read_procfile(ROOT / "Procfile", env), env).run()


def read_procfile(path: Path, env: dict[str, str]) -> dict[str, list[str]]:
    """``name: command`` lines → name → argv, with ``${VAR}`` taken from ``env``."""
    commands: dict[str, list[str]] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, sep, command = line.partition(":")
        if not sep or not name.strip().isidentifier():
            raise ValueError(f"{path.name}:{number}: expected 'name: command', got {line!r}")
        argv = [_expand(word, env) for word in shlex.split(command)]
        commands[name.strip()] = argv
    return commands


def _expand(word: str, env: dict[str, str]) -> str:
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: env.get(m.group(1) or m.group(2), ""), word)


@dataclass
class Child:
    name: str
    argv: list[str]
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    failures: int = 0  # crashes in a row (reset once it has run STABLE_SECONDS)
    restart_at: float | None = None
    exits: list[int] = field(default_factory=list)


class Supervisor:
    """Start every process, restart one that exits (with backoff), stop all on SIGINT/SIGTERM."""

    BACKOFF_START = 1.0
    BACKOFF_MAX = 30.0
    STABLE_SECONDS = 60.0
    STOP_SECONDS = 5.0

    def __init__(
        self,
        commands: dict[str, list[str]],
        env: dict[str, str],
        *,
        out: IO[str] | None = None,
        cwd: Path = ROOT,
        on_restart: Callable[[Child], None] | None = None,
    ) -> None:
        self.children = {name: Child(name, argv) for name, argv in commands.items()}
        self.env = env
        self.cwd = cwd
        self.out = out or sys.stdout
        self.on_restart = on_restart
        self.width = max((len(name) for name in commands), default=0)
        self._print_lock = threading.Lock()
        self._stop = threading.Event()
        self._signal: int | None = None

    # -- output

    def say(self, name: str, text: str) -> None:
        stamp = datetime.now().strftime("%H:%M:%S")
        with self._print_lock:
            self.out.write(f"{stamp} {name.ljust(self.width)} | {text}\n")
            self.out.flush()

    def _pump(self, child: Child, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            self.say(child.name, raw.decode(errors="replace").rstrip("\n"))
        stream.close()

    # -- processes

    def _start(self, child: Child) -> None:
        # Its own process group: the terminal's Ctrl-C reaches only this script, which then stops
        # each process (and its children: gunicorn's and Celery's workers) as a group.
        child.proc = subprocess.Popen(
            child.argv,
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            process_group=0,
        )
        child.started_at = time.monotonic()
        child.restart_at = None
        threading.Thread(target=self._pump, args=(child, child.proc.stdout), daemon=True).start()
        self.say("system", f"{child.name} started (pid {child.proc.pid})")

    def _backoff(self, child: Child) -> float:
        return min(self.BACKOFF_MAX, self.BACKOFF_START * 2 ** max(0, child.failures - 1))

    def _check(self, child: Child, now: float) -> None:
        if child.proc is not None and child.proc.poll() is not None:
            code = child.proc.returncode
            child.exits.append(code)
            ran = now - child.started_at
            child.failures = 1 if ran >= self.STABLE_SECONDS else child.failures + 1
            delay = self._backoff(child)
            child.proc, child.restart_at = None, now + delay
            self.say("system", f"{child.name} exited with code {code} after {ran:.0f} s; restarting in {delay:.0f} s")
        if child.proc is None and child.restart_at is not None and now >= child.restart_at:
            self._start(child)
            if self.on_restart is not None:
                self.on_restart(child)

    def _handle(self, signum: int, _frame: object) -> None:
        if self._signal is None:
            self._signal = signum
        self._stop.set()

    def run(self) -> int:
        """Run until SIGINT/SIGTERM (or :meth:`stop`); returns 130 after SIGINT, else 0."""
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, self._handle)
            signal.signal(signal.SIGTERM, self._handle)
        try:
            for child in self.children.values():
                if not self._stop.is_set():
                    self._start(child)
            while not self._stop.wait(0.2):
                now = time.monotonic()
                for child in self.children.values():
                    self._check(child, now)
        finally:
            self._stop_all()
        return 130 if self._signal == signal.SIGINT else 0

    def stop(self) -> None:
        self._stop.set()

    def _stop_all(self) -> None:
        running = [c for c in self.children.values() if c.proc is not None and c.proc.poll() is None]
        for child in running:
            self.say("system", f"stopping {child.name} (pid {child.proc.pid})")  # type: ignore[union-attr]
            _signal_group(child.proc, signal.SIGTERM)  # type: ignore[arg-type]
        deadline = time.monotonic() + self.STOP_SECONDS
        for child in running:
            try:
                child.proc.wait(timeout=max(0.0, deadline - time.monotonic()))  # type: ignore[union-attr]
            except subprocess.TimeoutExpired:
                self.say("system", f"{child.name} did not stop in {self.STOP_SECONDS:.0f} s; killing it")
                _signal_group(child.proc, signal.SIGKILL)  # type: ignore[arg-type]
                child.proc.wait()  # type: ignore[union-attr]
        for child in running:  # what was left of each group (a worker its parent did not reap)
            _signal_group(child.proc, signal.SIGKILL)  # type: ignore[arg-type]


def _signal_group(proc: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # the whole group has already exited
        os.killpg(proc.pid, signum)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # Ctrl-C during the migrations or the demo data: nothing else runs yet
        sys.exit(130)
