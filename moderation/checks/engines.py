"""The multi-pattern engines behind the shared dictionary pass (see docs/checks.md, “性能”).

Both report every occurrence of every key (overlapping) as ``(start, end, key_id)`` in character
offsets of the scanned string, so the scan in data.py does not care which one runs:

* ``daachorse`` — the compiled charwise double-array Aho–Corasick automaton of the daachorse
  wheel (Rust): one call returns the whole match list.  The default wherever its wheel exists
  (x86-64 Linux, macOS, Windows).
* ``pyahocorasick`` — the fallback for machines without a daachorse wheel (ARM64 Linux servers,
  musl): pyahocorasick over the UTF-16 key encoding of normalize.py, with frequent characters
  first in every node's child list.

``GOVMEDIA_CHECKS_ENGINE=pyahocorasick`` forces the fallback (e.g. to compare the two).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from moderation.checks.normalize import PRIMER_CHARS, encode

ENGINE_ENV = "GOVMEDIA_CHECKS_ENGINE"

try:
    import daachorse
except ImportError:  # no wheel for this platform: use the fallback
    daachorse = None  # type: ignore[assignment]  # the usual optional-import idiom; checked before use


class Engine(Protocol):
    name: str

    def matches(self, text: str) -> list[tuple[int, int, int]]:
        """Every occurrence of every key in ``text``: (start, end, key id), end exclusive."""
        ...

    def bare_input(self, text: str) -> str:
        """``text`` as the bare pass reads it (bench/checks.py measures ``bare`` on it)."""
        ...

    def bare(self, prepared: str) -> None:
        """The automaton alone, nothing around it: the ceiling the pipeline is measured against."""
        ...


class DaachorseEngine:
    name = "daachorse"

    def __init__(self, keys: Sequence[str]) -> None:
        if daachorse is None:
            raise RuntimeError("daachorse is not installed")
        self._automaton = daachorse.CharwiseDoubleArrayAhoCorasick(list(keys))
        self.matches = self._automaton.find_overlapping

    def bare_input(self, text: str) -> str:
        return text

    def bare(self, prepared: str) -> None:
        self._automaton.find_overlapping(prepared)


class PyAhoCorasickEngine:
    name = "pyahocorasick"

    def __init__(self, keys: Sequence[str]) -> None:
        import ahocorasick  # noqa: PLC0415  optional fallback engine, installed only where daachorse has no wheel

        automaton = ahocorasick.Automaton(ahocorasick.STORE_ANY, ahocorasick.KEY_STRING)
        # Primer keys put frequent characters first in every node's child list (normalize.py);
        # they end in U+0000 and map to the extra id len(keys), which has no entries.
        primer = len(keys)
        seen: set[str] = set()
        for ch in PRIMER_CHARS:
            if ch not in seen:
                seen.add(ch)
                automaton.add_word(encode(ch) + "\x00\x00", (4, primer))
        for i, key in enumerate(keys):
            enc = encode(key)
            automaton.add_word(enc, (len(enc), i))
        automaton.make_automaton()
        self._automaton = automaton

    def matches(self, text: str) -> list[tuple[int, int, int]]:
        return [
            (s2 >> 1, (e2 + 1) >> 1, key)
            for e2, (n, key) in self._automaton.iter(encode(text))
            if not (s2 := e2 + 1 - n) & 1  # a match must start on a character
        ]

    def bare_input(self, text: str) -> str:
        return encode(text)

    def bare(self, prepared: str) -> None:
        for _ in self._automaton.iter(prepared):
            pass


ENGINES: dict[str, type[DaachorseEngine] | type[PyAhoCorasickEngine]] = {
    "daachorse": DaachorseEngine,
    "pyahocorasick": PyAhoCorasickEngine,
}


def default_engine_name() -> str:
    """daachorse when its wheel is installed, else the pure-C pyahocorasick fallback."""
    return "daachorse" if daachorse is not None else "pyahocorasick"


def build_engine(keys: Sequence[str], name: str | None = None) -> Engine:
    """The engine ``name`` (default: daachorse when its wheel is installed) over ``keys``.

    Key ids are indexes into ``keys``; pyahocorasick may also report ``len(keys)`` (a primer)."""
    name = (name or default_engine_name()).strip().lower()
    if name not in ENGINES:
        raise ValueError(f"{ENGINE_ENV}={name!r}: choose one of {', '.join(ENGINES)}")
    return ENGINES[name](keys)
