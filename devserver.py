"""`make run`: migrate, seed demo data, then run web + worker + scheduler + sandbox together.

Uses honcho (a Procfile runner); Ctrl-C stops every process cleanly: honcho sends each process
SIGTERM and, after 5 s, SIGKILL; this script waits for honcho to finish that and exits.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

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
    subprocess.run([*flask, "seed-demo"], check=True, env=env)
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
    return run_honcho(env)


def run_honcho(env: dict[str, str]) -> int:
    """Run honcho in its own process group and hand it Ctrl-C (SIGINT) and SIGTERM exactly once each.

    Not subprocess.call: on Ctrl-C it SIGKILLs the child after 0.25 s, which would kill honcho
    halfway through stopping the processes and leave them running without it.
    """
    received: list[int] = []
    honcho: subprocess.Popen[bytes] | None = None

    def forward(signum: int, _frame: object) -> None:
        if honcho is None:
            received.append(signum)  # arrived while honcho was starting: sent just below
        elif honcho.poll() is None:
            honcho.send_signal(signum)

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    honcho = subprocess.Popen([str(BIN / "honcho"), "start", "-f", "Procfile"], env=env, process_group=0)
    for signum in received:
        honcho.send_signal(signum)
    return honcho.wait()


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # Ctrl-C during the migrations or the demo data: nothing else runs yet
        sys.exit(130)
