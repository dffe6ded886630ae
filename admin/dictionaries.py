"""The checks' dictionaries (词库) as the admin console edits them.

The office's copies live in ``CHECKS_DATA_DIR`` (config.py reads $GOVMEDIA_CHECKS_DATA_DIR); a
file missing there falls back to the packaged starter in moderation/data. An edit is validated
by compiling the whole lexicon with the new text (nothing is written on a bad line), written
atomically, kept as a version under ``CHECKS_DATA_DIR/.history/FILE/`` and reloaded into this
process's pipeline at once (other processes reload within seconds: they watch the files' mtime).
"""

from __future__ import annotations

import contextlib
import difflib
import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import current_app

from audit import service as audit
from auth.models import User
from common.db import utcnow
from common.errors import Conflict, Invalid, NotFound
from moderation.checks import DATA_FILES, PACKAGED_DATA_DIR, DataFileError, Lexicon, default_pipeline

FILE_LABELS = {
    "sensitive_terms.txt": "敏感词",
    "commercial_terms.txt": "商业广告用语",
    "allowlist.txt": "白名单（不报的短语）",
    "serious_errors.tsv": "严重表述错误",
    "leaders.tsv": "领导同志姓名、排序与职务",
    "secrecy_terms.tsv": "涉密标志用语",
    "link_domains.tsv": "链接域名",
}
MAX_BYTES = 5 * 1024 * 1024
HISTORY = ".history"
INITIAL_NOTE = "首次在管理台修改前的内容"


@dataclass(frozen=True)
class Version:
    id: str  # the stored file's stem: a UTC timestamp, sortable
    at: datetime
    author: str
    note: str
    counts: int | None


def office_dir() -> Path | None:
    value = current_app.config.get("CHECKS_DATA_DIR") or ""
    return Path(value) if value else None


def _check_name(name: str) -> str:
    if name not in DATA_FILES:
        raise NotFound("没有这个词库文件")
    return name


def source_path(name: str) -> Path:
    office = office_dir()
    if office is not None and (office / name).is_file():
        return office / name
    return PACKAGED_DATA_DIR / name


def read(name: str) -> str:
    path = source_path(_check_name(name))
    return path.read_text(encoding="utf-8-sig") if path.is_file() else ""


def overview() -> list[dict[str, Any]]:
    lexicon = default_pipeline().lexicon
    office = office_dir()
    rows = []
    for name in DATA_FILES:
        path = source_path(name)
        rows.append(
            {
                "name": name,
                "label": FILE_LABELS[name],
                "office": office is not None and path.parent == office,
                "entries": lexicon.counts.get(name, 0),
                "modified": datetime.fromtimestamp(path.stat().st_mtime, tz=UTC) if path.is_file() else None,
                "versions": len(versions(name)),
            }
        )
    return rows


def _history_dir(name: str) -> Path | None:
    office = office_dir()
    return None if office is None else office / HISTORY / name


def versions(name: str) -> list[Version]:
    """Saved versions of ``name``, newest first."""
    hdir = _history_dir(_check_name(name))
    if hdir is None or not hdir.is_dir():
        return []
    out = []
    for meta_path in sorted(hdir.glob("*.json"), reverse=True):
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        out.append(
            Version(
                meta_path.stem,
                datetime.fromisoformat(meta["at"]),
                meta.get("author", ""),
                meta.get("note", ""),
                meta.get("entries"),
            )
        )
    return out


def version_text(name: str, version_id: str) -> str:
    hdir = _history_dir(_check_name(name))
    if hdir is None or not version_id.isalnum():
        raise NotFound("没有这个版本")
    path = hdir / f"{version_id}.txt"
    if not path.is_file():
        raise NotFound("没有这个版本")
    return path.read_text(encoding="utf-8")


def diff_lines(old: str, new: str) -> list[tuple[str, str]]:
    """(sign, line) for the lines removed ("-") and added ("+") from ``old`` to ``new``."""
    out = []
    for line in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0):
        if line.startswith(("---", "+++", "@@")):
            continue
        out.append((line[0], line[1:]))
    return out


def normalise(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text if text.endswith("\n") or not text else text + "\n"


def validate(name: str, text: str) -> dict[str, int]:
    """Compile the whole lexicon with ``text`` as ``name``; Invalid (Chinese, with the line) if it fails."""
    _check_name(name)
    if len(text.encode("utf-8")) > MAX_BYTES:
        raise Invalid("词库文件过大（不超过 5 MB）", details={"text": ["词库文件过大（不超过 5 MB）"]})
    office = office_dir()
    with tempfile.TemporaryDirectory(prefix="govmedia-checks-") as tmp:
        for other in DATA_FILES:
            if office is not None and (office / other).is_file():
                shutil.copyfile(office / other, Path(tmp) / other)
        Path(tmp, name).write_text(text, encoding="utf-8")
        try:
            return Lexicon.load(tmp).counts
        except DataFileError as exc:
            raise Invalid(f"词库有误，未保存：{exc}", details={"text": [str(exc)]}) from exc


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _store_version(office: Path, name: str, text: str, *, author: str, note: str, entries: int | None) -> str:
    hdir = office / HISTORY / name
    hdir.mkdir(parents=True, exist_ok=True)
    at = utcnow()
    stem = at.strftime("%Y%m%d%H%M%S%f")
    while (hdir / f"{stem}.txt").exists():  # two saves in the same microsecond
        stem = str(int(stem) + 1)
    _write_atomic(hdir / f"{stem}.txt", text)
    meta = {"at": at.isoformat(), "author": author, "note": note, "entries": entries}
    _write_atomic(hdir / f"{stem}.json", json.dumps(meta, ensure_ascii=False))
    return stem


def save(name: str, text: str, actor: User | None, note: str = "") -> str | None:
    """Validate, keep a version, write the office copy and reload; the new version id (None: no change)."""
    _check_name(name)
    office = office_dir()
    if office is None:
        raise Conflict(
            "未设置本单位词库目录（环境变量 GOVMEDIA_CHECKS_DATA_DIR），词库只能查看不能修改",
            code="no_data_dir",
        )
    text = normalise(text)
    counts = validate(name, text)
    author = actor.display_name if actor is not None else "系统"
    previous = default_pipeline().lexicon.counts.get(name)
    with _locked(office):
        old = read(name)
        if old == text:
            return None
        if not versions(name):
            _store_version(office, name, old, author="", note=INITIAL_NOTE, entries=previous)
        version = _store_version(office, name, text, author=author, note=note.strip(), entries=counts.get(name))
        _write_atomic(office / name, text)
    default_pipeline().reload()
    changes = diff_lines(old, text)
    audit.record(
        "checks:dictionary:update",
        object_type="check_dictionary",
        object_id=name,
        before={"entries": previous},
        after={
            "file": name,
            "version": version,
            "entries": counts.get(name),
            "lines_added": sum(1 for sign, _ in changes if sign == "+"),
            "lines_removed": sum(1 for sign, _ in changes if sign == "-"),
            "note": note.strip(),
        },
        actor=actor,
    )
    return version
