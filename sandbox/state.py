"""In-memory world of the simulated platforms, guarded by one lock, optionally saved to JSON.

Every request handler takes ``state.lock`` for the whole of its work on the state, so the
sandbox can run in a threaded server. Nothing here logs tokens or secrets.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from sandbox import config as cfg
from sandbox.faults import FaultBook

PLATFORMS: tuple[str, ...] = ("wechat", "weibo", "douyin", "toutiao")
ACCOUNT_STATUSES: tuple[str, ...] = ("active", "banned", "deregistered")
STATE_VERSION = 1


@dataclass
class Account:
    platform: str
    uid: str
    name: str
    subject: str = ""
    verified: bool = True
    status: str = "active"
    followers: int = 0
    description: str = ""
    created_at: float = 0.0
    auto: bool = False
    #: platform-side credentials issued by /_sandbox/accounts (never logged)
    credentials: dict[str, str] = field(default_factory=dict)

    @property
    def usable(self) -> bool:
        return self.status == "active"


@dataclass
class Post:
    platform: str
    uid: str
    post_id: str
    kind: str
    title: str
    text: str
    url: str
    created_at: float
    state: str = "published"  # publishing | published | rejected | failed
    deleted: bool = False
    deleted_at: float | None = None
    removed_by: str | None = None  # "user" | "platform"
    source: str = "api"  # "api" | "seed"
    content: str = ""
    media: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def visible(self) -> bool:
        return self.state == "published" and not self.deleted


@dataclass
class Token:
    value: str
    platform: str
    uid: str
    kind: str  # wechat_token | wechat_stable | weibo | access | refresh | client
    issued_at: float
    expires_at: float | None = None
    revoked: bool = False
    client_key: str = ""
    renewals: int = 0


@dataclass
class Media:
    media_id: str
    platform: str
    uid: str
    kind: str  # image | thumb | voice | video | uploadimg
    filename: str
    content_type: str
    size: int
    created_at: float
    width: int = 0
    height: int = 0
    used_by: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Draft:
    media_id: str
    uid: str
    articles: list[dict[str, Any]]
    created_at: float


@dataclass
class PublishJob:
    publish_id: str
    uid: str
    draft_id: str
    article_id: str
    msg_data_id: str
    created_at: float
    polls_left: int
    final_status: int
    status: int = 1
    fail_idx: list[int] = field(default_factory=list)


@dataclass
class AuthCode:
    code: str
    platform: str
    uid: str
    client_key: str
    redirect_uri: str
    expires_at: float
    used: bool = False


@dataclass
class App:
    """An application on a platform: a WeChat AppID or a ByteDance client_key."""

    platform: str
    client_key: str
    client_secret: str
    uid: str = ""


T = TypeVar("T")


def _load_rows(cls: type[T], rows: list[dict[str, Any]]) -> list[T]:
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    return [cls(**{k: v for k, v in row.items() if k in names}) for row in rows]


class SandboxState:
    """Accounts, posts, tokens, media, drafts, publish jobs, counters, config and faults."""

    def __init__(self, config: dict[str, Any] | None = None, state_file: str | Path | None = None) -> None:
        self.lock = threading.RLock()
        self.initial_config = cfg.merge(cfg.defaults(), config or {})
        self.config: dict[str, Any] = cfg.merge(self.initial_config, {})
        self.faults = FaultBook()
        self.state_file = Path(state_file) if state_file else None
        self.dirty = False
        self._clear()
        if self.state_file is not None and self.state_file.exists():
            self._load()

    # ---- lifecycle -------------------------------------------------------------------
    def _clear(self) -> None:
        self.accounts: dict[tuple[str, str], Account] = {}
        self.posts: dict[tuple[str, str], Post] = {}
        self.tokens: dict[str, Token] = {}
        self.media: dict[str, Media] = {}
        self.media_bytes: dict[str, bytes] = {}
        self.drafts: dict[str, Draft] = {}
        self.jobs: dict[str, PublishJob] = {}
        self.codes: dict[str, AuthCode] = {}
        self.apps: dict[tuple[str, str], App] = {}
        self.counters: dict[str, int] = {}
        self.events: dict[str, list[float]] = {}

    def reset(self) -> None:
        """Back to the start-up state: no accounts, posts, tokens, faults; start-up config."""
        with self.lock:
            self._clear()
            self.faults.clear()
            self.config = cfg.merge(self.initial_config, {})
            if self.media_dir is not None and self.media_dir.exists():
                for item in self.media_dir.iterdir():
                    item.unlink()
            self.dirty = True

    def update_config(self, changes: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.config = cfg.merge(self.config, changes)
            self.dirty = True
            return dict(self.config)

    # ---- clock and ids ---------------------------------------------------------------
    def now(self) -> float:
        return time.time() + float(self.config.get("clock_offset", 0.0))

    def day_key(self) -> str:
        return time.strftime("%Y%m%d", time.gmtime(self.now() + 8 * 3600))

    def month_key(self) -> str:
        return time.strftime("%Y%m", time.gmtime(self.now() + 8 * 3600))

    @staticmethod
    def new_secret(nbytes: int = 16) -> str:
        return secrets.token_hex(nbytes)

    def new_digits(self, length: int, taken: set[str] | dict[Any, Any] | None = None) -> str:
        while True:
            value = str(10 ** (length - 1) + secrets.randbelow(9 * 10 ** (length - 1)))
            if taken is None or value not in taken:
                return value

    # ---- counters (quotas, rate windows) ---------------------------------------------
    def bump(self, key: str, amount: int = 1) -> int:
        self.counters[key] = self.counters.get(key, 0) + amount
        self.dirty = True
        return self.counters[key]

    def count(self, key: str) -> int:
        return self.counters.get(key, 0)

    def window_hits(self, key: str, seconds: float) -> int:
        now = self.now()
        hits = [t for t in self.events.get(key, []) if now - t < seconds]
        self.events[key] = hits
        return len(hits)

    def record_event(self, key: str) -> None:
        self.events.setdefault(key, []).append(self.now())
        self.dirty = True

    # ---- accounts --------------------------------------------------------------------
    def account(self, platform: str, uid: str) -> Account | None:
        return self.accounts.get((platform, uid))

    def ensure_account(self, platform: str, uid: str) -> Account:
        """The account ``uid`` on ``platform``, created on first use (auto-provision)."""
        account = self.accounts.get((platform, uid))
        if account is None:
            account = Account(platform=platform, uid=uid, name=uid, verified=False, created_at=self.now(), auto=True)
            self.accounts[(platform, uid)] = account
            self.dirty = True
        return account

    def platform_accounts(self, platform: str) -> list[Account]:
        return [a for (p, _), a in self.accounts.items() if p == platform]

    # ---- posts -----------------------------------------------------------------------
    def add_post(self, post: Post) -> Post:
        self.posts[(post.platform, post.post_id)] = post
        self.dirty = True
        return post

    def post(self, platform: str, post_id: str) -> Post | None:
        return self.posts.get((platform, post_id))

    def posts_of(self, platform: str | None = None, uid: str | None = None) -> list[Post]:
        """Posts newest first."""
        rows = [
            p
            for p in self.posts.values()
            if (platform is None or p.platform == platform) and (uid is None or p.uid == uid)
        ]
        return sorted(rows, key=lambda p: (p.created_at, p.post_id), reverse=True)

    def delete_post(self, post: Post, by: str = "user") -> None:
        if not post.deleted:
            post.deleted = True
            post.deleted_at = self.now()
            post.removed_by = by
            self.dirty = True

    # ---- tokens ----------------------------------------------------------------------
    def add_token(self, token: Token) -> Token:
        self.tokens[f"{token.platform}:{token.value}"] = token
        self.dirty = True
        return token

    def token(self, platform: str, value: str) -> Token | None:
        """Tokens are looked up per platform: a WeChat token is unknown to Weibo."""
        return self.tokens.get(f"{platform}:{value}")

    def revoke_tokens(self, platform: str, uid: str, kind: str) -> None:
        for token in self.tokens.values():
            if token.platform == platform and token.uid == uid and token.kind == kind and not token.revoked:
                token.revoked = True
                self.dirty = True

    # ---- media -----------------------------------------------------------------------
    @property
    def media_dir(self) -> Path | None:
        if self.state_file is None:
            return None
        return self.state_file.with_name(self.state_file.name + ".media")

    def add_media(self, media: Media, data: bytes) -> Media:
        self.media[media.media_id] = media
        self.media_bytes[media.media_id] = data
        if self.media_dir is not None:
            self.media_dir.mkdir(parents=True, exist_ok=True)
            (self.media_dir / _safe_name(media.media_id)).write_bytes(data)
        self.dirty = True
        return media

    def media_data(self, media_id: str) -> bytes | None:
        if media_id in self.media_bytes:
            return self.media_bytes[media_id]
        if self.media_dir is not None and media_id in self.media:
            path = self.media_dir / _safe_name(media_id)
            if path.exists():
                return path.read_bytes()
        return None

    # ---- persistence -----------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "accounts": [asdict(a) for a in self.accounts.values()],
            "posts": [asdict(p) for p in self.posts.values()],
            "tokens": [asdict(t) for t in self.tokens.values()],
            "media": [asdict(m) for m in self.media.values()],
            "drafts": [asdict(d) for d in self.drafts.values()],
            "jobs": [asdict(j) for j in self.jobs.values()],
            "codes": [asdict(c) for c in self.codes.values()],
            "apps": [asdict(a) for a in self.apps.values()],
            "counters": self.counters,
            "events": self.events,
        }

    def save(self) -> None:
        """Write the state file atomically (no-op without --state)."""
        with self.lock:
            self.dirty = False
            if self.state_file is None:
                return
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.state_file.with_name(self.state_file.name + ".tmp")
            tmp.write_text(json.dumps(self.snapshot(), ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, self.state_file)

    def _load(self) -> None:
        if self.state_file is None:
            return
        data = json.loads(self.state_file.read_text(encoding="utf-8"))
        if data.get("version") != STATE_VERSION:
            return
        self.accounts = {(a.platform, a.uid): a for a in _load_rows(Account, data.get("accounts", []))}
        self.posts = {(p.platform, p.post_id): p for p in _load_rows(Post, data.get("posts", []))}
        self.tokens = {f"{t.platform}:{t.value}": t for t in _load_rows(Token, data.get("tokens", []))}
        self.media = {m.media_id: m for m in _load_rows(Media, data.get("media", []))}
        self.drafts = {d.media_id: d for d in _load_rows(Draft, data.get("drafts", []))}
        self.jobs = {j.publish_id: j for j in _load_rows(PublishJob, data.get("jobs", []))}
        self.codes = {c.code: c for c in _load_rows(AuthCode, data.get("codes", []))}
        self.apps = {(a.platform, a.client_key): a for a in _load_rows(App, data.get("apps", []))}
        self.counters = {str(k): int(v) for k, v in data.get("counters", {}).items()}
        self.events = {str(k): [float(x) for x in v] for k, v in data.get("events", {}).items()}


def _safe_name(media_id: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in media_id)


def attach_store(state: SandboxState, name: str, store: Any, empty: Any) -> None:
    """Tie a route module's own ``store`` (``clear``/``dump``/``load``) to the sandbox state: emptied
    whenever the state is reset, saved under ``name`` in (and read back from) the ``--state`` file
    with the rest. ``empty`` is what ``load`` gets when the file has nothing under ``name``."""
    reset, snapshot = state.reset, state.snapshot

    def reset_all() -> None:
        reset()
        store.clear()

    def snapshot_all() -> dict[str, Any]:
        return {**snapshot(), name: store.dump()}

    state.reset = reset_all  # type: ignore[method-assign]
    state.snapshot = snapshot_all  # type: ignore[method-assign]
    if state.state_file is not None and state.state_file.exists():
        data = json.loads(state.state_file.read_text(encoding="utf-8"))
        if data.get("version") == STATE_VERSION:
            store.load(data.get(name) or empty)
