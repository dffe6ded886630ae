"""Data files (dictionaries maintained by the office) and the compiled lexicon.

Every dictionary-based entry of every file goes into ONE Aho–Corasick automaton, so a text is
scanned once whatever the number of checks (``Lexicon.scan``), together with the trigger keys of
the regex-based checks and one key per character that folding changes (``KeyLayout``).  See
docs/checks.md for the file formats and the design.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from moderation.checks.engines import Engine, build_engine
from moderation.checks.normalize import FOLD_SOURCES, fold, fold_char, has_astral

if TYPE_CHECKING:
    from moderation.checks.base import TermHit

log = logging.getLogger(__name__)

PACKAGED_DATA_DIR = Path(__file__).resolve().parent.parent / "data"

SENSITIVE_FILE = "sensitive_terms.txt"
COMMERCIAL_FILE = "commercial_terms.txt"
ALLOW_FILE = "allowlist.txt"
SERIOUS_FILE = "serious_errors.tsv"
LEADERS_FILE = "leaders.tsv"
SECRECY_FILE = "secrecy_terms.tsv"
LINKS_FILE = "link_domains.tsv"
DATA_FILES = (
    SENSITIVE_FILE,
    COMMERCIAL_FILE,
    ALLOW_FILE,
    SERIOUS_FILE,
    LEADERS_FILE,
    SECRECY_FILE,
    LINKS_FILE,
)

_SEVERITY_ALIASES = {
    "block": "block",
    "阻断": "block",
    "拦截": "block",
    "禁止": "block",
    "warn": "warn",
    "warning": "warn",
    "提示": "warn",
    "警告": "warn",
    "提醒": "warn",
}
SECRECY_CLASSES = ("level", "work_secret", "internal", "draft", "request", "classified")
LINK_VERDICTS = ("allow", "commercial", "shortener", "block")
ALLOW_KINDS = {
    "sensitive": ("sensitive",),
    "commercial": ("commercial",),
    "serious_error": ("serious_error", "leader_wrong"),
    "secrecy": ("secrecy",),
}


class DataFileError(ValueError):
    """A data file line the loader cannot understand (message in Chinese, with file and line)."""

    def __init__(self, path: Path | str, lineno: int, message: str) -> None:
        self.path = str(path)
        self.lineno = lineno
        super().__init__(f"{Path(path).name} 第{lineno}行：{message}")


@dataclass(frozen=True, slots=True)
class Entry:
    """One dictionary entry.  ``kind`` is the bucket a check reads (see ScanContext.terms)."""

    kind: str
    term: str
    severity: str
    category: str
    rule: str
    data: Any = None
    word: bool = False  # ASCII term: must not touch other ASCII letters/digits


@dataclass(frozen=True, slots=True)
class Leader:
    group: str
    rank: int
    name: str
    titles: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LinkRule:
    domain: str
    verdict: str
    severity: str
    note: str


@dataclass
class Lexicon:
    """The compiled form of all data files; immutable once built (reload builds a new one)."""

    automaton: Engine
    values: tuple[tuple[Entry, ...], ...]  # the entries of each automaton key id
    layout: KeyLayout
    entries: list[Entry]
    link_rules: dict[str, LinkRule]
    leaders: dict[str, Leader]
    sources: dict[str, Path | None]
    signature: tuple[tuple[str, tuple[int, int] | None], ...]
    data_dir: Path | None
    counts: dict[str, int] = field(default_factory=dict)

    @classmethod
    def load(cls, data_dir: str | os.PathLike[str] | None = None, engine: str | None = None) -> Lexicon:
        """Read the data files: each from ``data_dir`` when present there, else the packaged one.

        ``engine``: "daachorse" or "pyahocorasick" (default: see engines.py)."""
        ddir = Path(data_dir) if data_dir is not None else None
        sources = {name: _resolve(ddir, name) for name in DATA_FILES}
        signature = _signature(ddir)
        entries: list[Entry] = []
        counts: dict[str, int] = {}

        def add(name: str, items: list[Entry]) -> None:
            entries.extend(items)
            counts[name] = len(items)

        add(SENSITIVE_FILE, _parse_terms(sources[SENSITIVE_FILE], "sensitive"))
        add(COMMERCIAL_FILE, _parse_terms(sources[COMMERCIAL_FILE], "commercial"))
        add(ALLOW_FILE, _parse_allow(sources[ALLOW_FILE]))
        add(SERIOUS_FILE, _parse_serious(sources[SERIOUS_FILE]))
        leaders, leader_entries = _parse_leaders(sources[LEADERS_FILE])
        add(LEADERS_FILE, leader_entries)
        add(SECRECY_FILE, _parse_secrecy(sources[SECRECY_FILE]))
        link_rules = _parse_links(sources[LINKS_FILE])
        counts[LINKS_FILE] = len(link_rules)
        automaton, values, layout = build_automaton(entries, engine)
        return cls(
            automaton=automaton,
            values=values,
            layout=layout,
            entries=entries,
            link_rules=link_rules,
            leaders=leaders,
            sources=sources,
            signature=signature,
            data_dir=ddir,
            counts=counts,
        )

    def current_signature(self) -> tuple[tuple[str, tuple[int, int] | None], ...]:
        return _signature(self.data_dir)

    def changed_on_disk(self) -> bool:
        return self.current_signature() != self.signature

    def matches(self, text: str) -> list[tuple[int, int, int]]:
        """Every key occurrence in ``fold(text)`` as (start, end, key id), in order of their end."""
        return self._folded_matches(text, self.automaton.matches(text))

    def _folded_matches(self, text: str, found: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
        """The automaton reads ``text`` as it is; every character that folding would change is a
        one-character key of its own (ids from layout.fold_ids), so a text without any costs
        nothing more.  When there are some, only short windows around them are folded and scanned
        again: keys are folded, so an occurrence in ``fold(text)`` that covers none of those
        characters is an occurrence in ``text`` too, and the others lie inside the windows."""
        first_fold = self.layout.fold_ids
        changed = [m[0] for m in found if m[2] >= first_fold]
        if not changed:
            return found
        changed_set = set(changed)
        out = [m for m in found if m[2] < first_fold and changed_set.isdisjoint(range(m[0], m[1]))]
        n = len(text)
        reach = self.layout.longest - 1
        windows: list[list[int]] = []
        for pos in changed:
            lo, hi = max(0, pos - reach), min(n, pos + 1 + reach)
            if windows and lo <= windows[-1][1]:
                windows[-1][1] = hi
            else:
                windows.append([lo, hi])
        for lo, hi in windows:
            for s, e, key in self.automaton.matches(fold(text[lo:hi])):
                if key < first_fold and not changed_set.isdisjoint(range(s + lo, e + lo)):
                    out.append((s + lo, e + lo, key))
        out.sort(key=_end_order)
        return out

    def scan(self, text: str, folded: str | None = None) -> dict[str, list[TermHit]]:
        """The one dictionary pass over ``text``: hits bucketed by entry kind, allow-list applied.

        Spans are character offsets of ``text`` (folding keeps lengths); keys match the folded
        text.  Dictionary buckets are in (start, longest first) order, trigger buckets in order
        of their end, thinned out: a digit or URL trigger that starts inside or right at the end
        of the previous one of its kind adds nothing, since the checks widen every trigger over
        the whole run of such characters around it.  ``folded`` is accepted for compatibility
        and not needed."""
        if not text:
            return {}
        found = self.automaton.matches(text)
        buckets = self._classify(text, found)
        if buckets is None:  # the text holds characters that folding changes
            buckets = self._classify(text, self._folded_matches(text, found)) or {}  # no fold keys left
        return buckets

    def _classify(self, text: str, found: list[tuple[int, int, int]]) -> dict[str, list[TermHit]] | None:
        """Bucket the matches (None at the first fold key: see _folded_matches).  Digit triggers
        come first in the key ids: they are most of the matches."""
        layout = self.layout
        first_room, first_url, first_dict, first_fold = (
            layout.room_ids,
            layout.url_ids,
            layout.dict_ids,
            layout.fold_ids,
        )
        digits: list[TermHit] = []
        rooms: list[TermHit] = []
        urls: list[TermHit] = []
        keyed: list[tuple[int, int, int]] = []
        d_end = u_end = -1
        for s, e, key in found:
            if key < first_room:
                if s > d_end:
                    digits.append((s, e, DIGITS_ENTRY))
                d_end = e
            elif key >= first_dict:
                if key >= first_fold:
                    return None
                keyed.append((s, e, key))
            elif key >= first_url:
                if s > u_end:
                    urls.append((s, e, URL_ENTRY))
                u_end = e
            else:
                rooms.append((s, e, ROOM_ENTRY))
        buckets: dict[str, list[TermHit]] = {}
        if digits:
            buckets[TRIGGER_DIGITS] = digits
        if rooms:
            buckets[TRIGGER_ROOM] = rooms
        if urls:
            buckets[TRIGGER_URL] = urls
        if keyed:
            self._bucket(text, keyed, buckets)
        return buckets

    def _bucket(self, text: str, keyed: list[tuple[int, int, int]], buckets: dict[str, list[TermHit]]) -> None:
        """Dictionary (and allow-list) hits into their buckets; a key can hold several entries,
        and a dictionary term made of digits is also a trigger key."""
        values = self.values
        mixed = False
        for start, end, key in keyed:
            for entry in values[key]:
                if entry.word and not _word_bounded(text, start, end):
                    continue
                bucket = buckets.get(entry.kind)
                if bucket is None:
                    buckets[entry.kind] = [(start, end, entry)]
                else:
                    bucket.append((start, end, entry))
                if entry.kind in TRIGGER_KINDS:
                    mixed = True
        allow = buckets.pop("allow", None)
        for kind, hits in buckets.items():
            if kind in TRIGGER_KINDS:
                if mixed:
                    hits.sort(key=_end_order)
                continue
            if allow:
                hits = [h for h in hits if not _allowed(h, kind, allow)]  # noqa: PLW2901
                buckets[kind] = hits
            if len(hits) > 1:
                hits.sort(key=_hit_order)


def _hit_order(h: TermHit) -> tuple[int, int]:
    return (h[0], h[0] - h[1])


def _end_order(h: tuple[int, int, Any]) -> tuple[int, int]:
    return (h[1], h[0])


def _word_bounded(text: str, start: int, end: int) -> bool:
    """An ASCII term must not touch other letters/digits (full-width ones included)."""
    if start > 0:
        before = fold_char(text[start - 1])
        if before.isascii() and before.isalnum():
            return False
    if end < len(text):
        after = fold_char(text[end])
        if after.isascii() and after.isalnum():
            return False
    return True


def _allowed(hit: TermHit, kind: str, allow: list[TermHit]) -> bool:
    s, e = hit[0], hit[1]
    for a_s, a_e, entry in allow:  # noqa: SIM110  a plain loop: no generator object per hit
        if a_s <= s and e <= a_e and (not entry.data or kind in entry.data):
            return True
    return False


# Trigger keys: besides the dictionaries, the automaton reports places where the regex-based
# checks have something to look at, so that those never scan a whole text themselves.  Keys
# match the folded text, so they are ASCII: full-width digits and letters fold onto them.
TRIGGER_DIGITS = "~digits"  # four digits in a row: every number privacy.py looks for holds a run of 4
TRIGGER_ROOM = "~room"  # a digit followed by 号/栋/幢/座/弄 (possible address)
TRIGGER_URL = "~url"  # "://" or a dot followed by a letter (possible link)
TRIGGER_KINDS = (TRIGGER_DIGITS, TRIGGER_ROOM, TRIGGER_URL)
_ASCII_DIGITS = "0123456789"
_ASCII_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _trigger_keys() -> dict[str, str]:
    keys: dict[str, str] = {}
    for a in _ASCII_DIGITS:
        for b in _ASCII_DIGITS:
            for c in _ASCII_DIGITS:
                for d in _ASCII_DIGITS:
                    keys[a + b + c + d] = TRIGGER_DIGITS
    for a in _ASCII_DIGITS:
        for suffix in "号栋幢座弄":
            keys[a + suffix] = TRIGGER_ROOM
    keys["://"] = TRIGGER_URL
    for letter in _ASCII_LETTERS:
        keys["." + letter] = TRIGGER_URL
    return keys


_TRIGGER_ENTRIES = {kind: Entry(kind, kind, "warn", "", kind) for kind in TRIGGER_KINDS}
DIGITS_ENTRY, ROOM_ENTRY, URL_ENTRY = (_TRIGGER_ENTRIES[k] for k in TRIGGER_KINDS)
# Every character ``fold`` changes (capitals, full-width digits, letters, ．and ／).
_FOLD_KEYS = tuple(c for c in FOLD_SOURCES if fold(c) != c)


@dataclass(frozen=True, slots=True)
class KeyLayout:
    """Key ids of the automaton, by range: the digit triggers from 0, room triggers from
    ``room_ids``, URL triggers from ``url_ids``, dictionary keys (their entries in
    ``Lexicon.values``) from ``dict_ids``, and from ``fold_ids`` one key for every character
    that folding changes.  ``longest``: the length of the longest key."""

    room_ids: int
    url_ids: int
    dict_ids: int
    fold_ids: int
    longest: int


def build_automaton(
    entries: list[Entry], engine: str | None = None
) -> tuple[Engine, tuple[tuple[Entry, ...], ...], KeyLayout]:
    """One automaton for all entries and triggers; ``values[key id]`` = the key's entries."""
    by_key: dict[str, list[Entry]] = {}
    for entry in entries:
        key = fold(entry.term)
        if has_astral(key):
            log.warning("词条含不支持的字符（如表情符号），已跳过：%r", entry.term)
            continue
        by_key.setdefault(key, []).append(entry)
    keys: list[str] = []
    starts: list[int] = []
    for kind in TRIGGER_KINDS:
        starts.append(len(keys))
        for key, key_kind in _trigger_keys().items():
            if key_kind != kind:
                continue
            if key in by_key:  # a dictionary term that is also a trigger key keeps both, as a term
                by_key[key].append(_TRIGGER_ENTRIES[kind])
            else:
                keys.append(key)
    dict_ids = len(keys)
    keys.extend(by_key)
    fold_ids = len(keys)
    keys.extend(_FOLD_KEYS)
    layout = KeyLayout(starts[1], starts[2], dict_ids, fold_ids, max(map(len, keys)))
    values = (
        *(() for _ in range(dict_ids)),
        *(tuple(entries_) for entries_ in by_key.values()),
        *(() for _ in _FOLD_KEYS),
        (),  # the extra () answers pyahocorasick's primers
    )
    return build_engine(keys, engine), values, layout


# ---------------------------------------------------------------- reading files


def _resolve(ddir: Path | None, name: str) -> Path | None:
    if ddir is not None and (ddir / name).is_file():
        return ddir / name
    packaged = PACKAGED_DATA_DIR / name
    return packaged if packaged.is_file() else None


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


def _signature(ddir: Path | None) -> tuple[tuple[str, tuple[int, int] | None], ...]:
    """Cheap change detector: (mtime, size) of every candidate file, override dir first."""
    dirs = [d for d in (ddir, PACKAGED_DATA_DIR) if d is not None]
    return tuple((str(d / n), _stat(d / n)) for d in dirs for n in DATA_FILES)


def _lines(path: Path | None) -> Iterator[tuple[int, list[str]]]:
    if path is None:
        return
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataFileError(path, 0, f"文件不是 UTF-8 编码（{exc.reason}）") from exc
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        yield lineno, [c.strip() for c in raw.rstrip("\r\n").split("\t")]


def _severity(value: str, default: str, path: Path, lineno: int) -> str:
    if not value:
        return default
    sev = _SEVERITY_ALIASES.get(value.lower())
    if sev is None:
        raise DataFileError(path, lineno, f"严重程度“{value}”无效，应为 block（阻断）或 warn（提示）")
    return sev


def _is_word(term: str) -> bool:
    return term.isascii() and term[:1].isalnum()


def _parse_terms(path: Path | None, kind: str) -> list[Entry]:
    if path is None:
        return []
    out: list[Entry] = []
    seen: set[str] = set()
    for lineno, cols in _lines(path):
        term = cols[0]
        if not term:
            raise DataFileError(path, lineno, "词条为空（行首不能是制表符）")
        sev = _severity(cols[1] if len(cols) > 1 else "", "block", path, lineno)
        category = cols[2] if len(cols) > 2 and cols[2] else "未分类"
        if fold(term) in seen:
            continue
        seen.add(fold(term))
        out.append(Entry(kind, term, sev, category, f"{kind}:{term}", word=_is_word(term)))
    return out


def _parse_allow(path: Path | None) -> list[Entry]:
    if path is None:
        return []
    out: list[Entry] = []
    for lineno, cols in _lines(path):
        phrase = cols[0]
        if not phrase:
            raise DataFileError(path, lineno, "短语为空")
        kinds: set[str] = set()
        for raw_kind in (cols[1] if len(cols) > 1 else "").replace("，", ",").split(","):
            k = raw_kind.strip()
            if not k:
                continue
            if k not in ALLOW_KINDS:
                raise DataFileError(path, lineno, f"适用类别“{k}”无效，可用：{'、'.join(ALLOW_KINDS)}")
            kinds.update(ALLOW_KINDS[k])
        out.append(Entry("allow", phrase, "warn", "", f"allow:{phrase}", frozenset(kinds), _is_word(phrase)))
    return out


def _parse_serious(path: Path | None) -> list[Entry]:
    if path is None:
        return []
    out: list[Entry] = []
    for lineno, cols in _lines(path):
        if len(cols) < 2 or not cols[0] or not cols[1]:
            raise DataFileError(path, lineno, "格式应为：错误写法<TAB>正确写法[<TAB>类别[<TAB>严重程度]]")
        wrong, right = cols[0], cols[1]
        category = cols[2] if len(cols) > 2 and cols[2] else "wording"
        sev = _severity(cols[3] if len(cols) > 3 else "", "block", path, lineno)
        out.append(Entry("serious_error", wrong, sev, category, f"serious_error:{wrong}", right, _is_word(wrong)))
    return out


def _parse_leaders(path: Path | None) -> tuple[dict[str, Leader], list[Entry]]:
    if path is None:
        return {}, []
    leaders: dict[str, Leader] = {}
    entries: list[Entry] = []
    for lineno, cols in _lines(path):
        group, rank_s, name, titles_s, wrong_s = (cols + [""] * 5)[:5]
        if not group or not name:
            raise DataFileError(path, lineno, "格式应为：分组<TAB>排序<TAB>姓名<TAB>职务[,职务]<TAB>常见错写[,错写]")
        try:
            rank = int(rank_s)
        except ValueError as exc:
            raise DataFileError(path, lineno, f"排序“{rank_s}”应为整数") from exc
        if name in leaders:
            raise DataFileError(path, lineno, f"姓名“{name}”重复")
        titles = tuple(t.strip() for t in re.split(r"[,，、]", titles_s) if t.strip())
        leader = Leader(group, rank, name, titles)
        leaders[name] = leader
        entries.append(Entry("leader", name, "block", group, f"leader:{name}", leader))
        for wrong_raw in re.split(r"[,，、]", wrong_s):
            wrong = wrong_raw.strip()
            if wrong:
                entries.append(Entry("leader_wrong", wrong, "block", group, f"leader.name:{wrong}", leader))
    return leaders, entries


def _parse_secrecy(path: Path | None) -> list[Entry]:
    if path is None:
        return []
    out: list[Entry] = []
    for lineno, cols in _lines(path):
        if len(cols) < 2 or cols[1] not in SECRECY_CLASSES:
            raise DataFileError(path, lineno, f"格式应为：词语<TAB>类别（{'/'.join(SECRECY_CLASSES)}）")
        out.append(Entry("secrecy", cols[0], "block", cols[1], f"secrecy.{cols[1]}:{cols[0]}", cols[1]))
    return out


def _parse_links(path: Path | None) -> dict[str, LinkRule]:
    if path is None:
        return {}
    rules: dict[str, LinkRule] = {}
    for lineno, cols in _lines(path):
        domain = cols[0].lower().removeprefix("*.").removeprefix(".")
        verdict = cols[1] if len(cols) > 1 else ""
        if not domain or verdict not in LINK_VERDICTS:
            raise DataFileError(
                path, lineno, f"格式应为：域名<TAB>类别（{'/'.join(LINK_VERDICTS)}）[<TAB>严重程度[<TAB>说明]]"
            )
        default = "block" if verdict in ("commercial", "block") else "warn"
        sev = _severity(cols[2] if len(cols) > 2 else "", default, path, lineno)
        rules[domain] = LinkRule(domain, verdict, sev, cols[3] if len(cols) > 3 else "")
    return rules


def validate(data_dir: str | os.PathLike[str] | None = None) -> dict[str, int]:
    """Parse every file (raising DataFileError on the first bad line); entry counts per file."""
    return Lexicon.load(data_dir).counts
