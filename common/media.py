"""Content-addressed media storage: files are stored by their SHA-256 under MEDIA_DIR.

Limits and retention are settings (config.py): ``MEDIA_MAX_MB`` per uploaded file,
``MEDIA_MAX_PER_CONTENT`` files per content, and ``MEDIA_RETENTION_DAYS`` — a file that nothing
refers to and that was last stored longer ago than that is removed by :func:`prune` (run by the
scheduler daily and by ``flask media prune``; what refers to a file is decided in tasks/media.py).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import current_app, send_file

from common.errors import ApiError, Invalid

_SHA = re.compile(r"^[0-9a-f]{64}$")
TMP_SUFFIX = ".tmp"


def media_dir() -> Path:
    path = Path(current_app.config["MEDIA_DIR"])  # config.py: MEDIA_DIR, default instance/media
    path.mkdir(parents=True, exist_ok=True)
    return path


def max_bytes() -> int:
    return int(current_app.config.get("MEDIA_MAX_MB") or 30) * 1024 * 1024


def max_per_content() -> int:
    return int(current_app.config.get("MEDIA_MAX_PER_CONTENT") or 20)


def retention_days() -> int:
    return int(current_app.config.get("MEDIA_RETENTION_DAYS") or 30)


def read_upload(storage: Any) -> tuple[bytes, str]:
    """(bytes, file name) of an uploaded file, never reading more than one byte past
    ``MEDIA_MAX_MB``: 422 when empty, 413 when too large (the message says the limit)."""

    limit = max_bytes()
    try:
        data = storage.stream.read(limit + 1)
    finally:
        storage.close()  # a large upload is spooled to a temporary file
    if not data:
        raise Invalid("上传的文件为空", details={"file": ["上传的文件为空"]})
    if len(data) > limit:
        message = f"文件超过 {limit // (1024 * 1024)} MB 的上限，请压缩后重新上传"
        raise ApiError(message, status=413, code="payload_too_large", details={"file": [message]})
    name = (storage.filename or "file").replace("\\", "/").rsplit("/", 1)[-1][:200] or "file"
    return data, name


#: Types a stored file may be served as, decided from its first bytes (never from the upload's
#: label): images shown inline, PDF and everything else downloaded.
_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"%PDF-", 0, "application/pdf"),
)
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


def sniff(data: bytes) -> str:
    """The served content type of ``data``: a known image or PDF, else application/octet-stream."""
    for magic, offset, kind in _SIGNATURES:
        if data[offset : offset + len(magic)] == magic:
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"


def is_sha256(value: object) -> bool:
    return isinstance(value, str) and bool(_SHA.match(value))


def save(data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    target = media_dir() / digest
    if target.exists():
        os.utime(target)  # stored again now: the retention age starts over
    else:
        tmp = target.with_suffix(TMP_SUFFIX)
        tmp.write_bytes(data)
        tmp.replace(target)
    return digest


def load(sha256: str) -> bytes | None:
    if not _SHA.match(sha256 or ""):
        return None
    path = media_dir() / sha256
    return path.read_bytes() if path.exists() else None


@dataclass
class PruneResult:
    removed: list[str] = field(default_factory=list)  # sha256 (or temp file names) removed / to remove
    bytes: int = 0
    kept_referenced: int = 0
    kept_recent: int = 0


def prune(referenced: Iterable[str], older_than_seconds: float, *, dry_run: bool = False) -> PruneResult:
    """Remove stored files not in ``referenced`` whose last store is older than the given age.

    Left-over temporary files of an interrupted save count as unreferenced. Only names this
    module writes (64 hex digits, or those plus ``.tmp``) are ever touched.
    """
    keep = set(referenced)
    cutoff = time.time() - older_than_seconds
    result = PruneResult()
    for path in sorted(media_dir().iterdir()):
        sha = path.name.removesuffix(TMP_SUFFIX)
        if not path.is_file() or not _SHA.match(sha):
            continue
        if path.name == sha and sha in keep:
            result.kept_referenced += 1
            continue
        stat = path.stat()
        if stat.st_mtime > cutoff:
            result.kept_recent += 1
            continue
        if not dry_run:
            path.unlink(missing_ok=True)
        result.removed.append(path.name)
        result.bytes += stat.st_size
    return result


def send(data: bytes, name: str) -> Any:
    """A response serving a stored file safely: its type sniffed from its bytes, images inline,
    everything else downloaded, never interpreted by the browser (nosniff, sandboxing CSP)."""

    kind = sniff(data)
    response = send_file(io.BytesIO(data), mimetype=kind, as_attachment=kind not in INLINE_TYPES, download_name=name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response
