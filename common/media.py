"""Content-addressed media storage: files are stored by their SHA-256 under MEDIA_DIR."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from flask import current_app

_SHA = re.compile(r"^[0-9a-f]{64}$")


def media_dir() -> Path:
    path = Path(current_app.config["MEDIA_DIR"])  # config.py: MEDIA_DIR, default instance/media
    path.mkdir(parents=True, exist_ok=True)
    return path


def save(data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    target = media_dir() / digest
    if not target.exists():
        tmp = target.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(target)
    return digest


def load(sha256: str) -> bytes | None:
    if not _SHA.match(sha256 or ""):
        return None
    path = media_dir() / sha256
    return path.read_bytes() if path.exists() else None
