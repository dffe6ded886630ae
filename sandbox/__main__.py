"""``python -m sandbox --port P [--host 127.0.0.1] [--state FILE] [--config FILE]``."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from typing import Any

from sandbox.app import create_sandbox_app
from sandbox.common import EXTENSION_KEY
from sandbox.config import ConfigError
from sandbox.server import build_server, in_container


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox",
        description="政务新媒体模拟平台：微信公众号、微博、抖音、今日头条（仅本机）",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("SANDBOX_PORT") or 5100),
        help="端口（默认取 SANDBOX_PORT，否则 5100）",
    )
    parser.add_argument("--host", default="127.0.0.1", help="回环地址（默认 127.0.0.1）")
    parser.add_argument(
        "--state", default=os.environ.get("SANDBOX_STATE") or None, help="状态文件（JSON）；指定后重启仍保留账号与内容"
    )
    parser.add_argument("--config", default=None, help="初始配置（JSON 文件，键见 docs/sandbox.md）")
    parser.add_argument(
        "--seed", default=None, help="启动时创建的平台账号（JSON 列表，每项同 POST /_sandbox/accounts；已存在的跳过）"
    )
    parser.add_argument(
        "--allow-remote", action="store_true", help="允许绑定非回环地址（模拟平台不做真实鉴权，仅在容器内使用）"
    )
    return parser


def _settings(path: str | None) -> dict[str, Any]:
    if not path:
        return {}
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    if not isinstance(data, dict):
        raise ConfigError("配置文件必须是 JSON 对象")
    return data


def _seed(app: Any, path: str | None, base_url: str = "http://localhost") -> None:
    """Create the accounts listed in ``path`` that the sandbox does not have yet; their posts'
    links start with ``base_url`` (the address the sandbox serves on)."""
    if not path or not os.path.exists(path):
        return
    with open(path, encoding="utf-8") as handle:
        bodies = json.load(handle)
    state = app.extensions[EXTENSION_KEY]
    client = _SeedClient(app.test_client(), base_url)
    for body in bodies:
        platform, uid = str(body.get("platform")), str(body.get("uid"))
        if state.account(platform, uid) is not None:
            continue
        extras = {key: body.get(key) or [] for key in SEED_EXTRAS}
        account_body = {k: v for k, v in body.items() if k not in SEED_EXTRAS}
        _seed_call(client, "/_sandbox/accounts", account_body, platform, uid)
        for post in extras["app_posts"]:
            _seed_call(client, "/_sandbox/app/posts", {**post, "platform": platform, "uid": uid}, platform, uid)
        posts = state.posts_of(platform, uid)
        for comment in extras["comments"]:
            index = int(comment.get("post", 0))
            if not 0 <= index < len(posts):
                raise ValueError(f"种子账号 {platform}:{uid} 的评论指向不存在的第 {index} 条内容")
            fields = {k: v for k, v in comment.items() if k != "post"}
            target = {**fields, "platform": platform, "uid": uid, "post_id": posts[index].post_id}
            _seed_call(client, "/_sandbox/comments", target, platform, uid)
        for message in extras["messages"]:
            _seed_call(client, "/_sandbox/messages", {**message, "platform": platform, "uid": uid}, platform, uid)
        for item in extras["site_items"]:
            _seed_call(client, "/_sandbox/site/items", item, platform, uid)


#: Optional keys of a seed account besides the POST /_sandbox/accounts body: posts made in the
#: platform's app, comments from the public (``post`` = index among the account's posts, newest
#: first), private messages, and items on the sample government website (sandbox/sitefeed.py) that
#: the unit's website feed will find.
SEED_EXTRAS = ("app_posts", "comments", "messages", "site_items")


class _SeedClient:
    """The app's test client, its requests addressed to the sandbox's real base URL."""

    def __init__(self, client: Any, base_url: str) -> None:
        self.client, self.base_url = client, base_url

    def post(self, path: str, json: dict[str, Any]) -> Any:
        return self.client.post(path, json=json, base_url=self.base_url)


def _seed_call(client: Any, path: str, body: dict[str, Any], platform: str, uid: str) -> None:
    response = client.post(path, json=body)
    if response.status_code >= 400:
        raise ValueError(f"种子账号 {platform}:{uid} 无效（{path}）：{response.get_data(as_text=True)}")


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = _settings(args.config)
        if args.state:
            settings["state_file"] = args.state
        app = create_sandbox_app(settings)
        server = build_server(app, args.host, args.port, allow_remote=args.allow_remote or in_container())
        host = f"[{args.host}]" if ":" in args.host else args.host
        _seed(app, args.seed, f"http://{host}:{server.server_port}")
    except (ValueError, OSError) as exc:  # ConfigError and JSON errors are ValueErrors
        parser.exit(2, f"启动失败：{exc}\n")
    sys.stdout.write(f"政务新媒体模拟平台已启动：http://{host}:{server.server_port}/_sandbox/\n")
    sys.stdout.flush()
    # make run (devserver.py) and docker stop with SIGTERM: leave through the finally block like Ctrl-C.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        app.extensions[EXTENSION_KEY].save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
