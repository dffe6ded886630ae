"""The optimised pipeline (one shared automaton pass, compiled engine) finds exactly what a
straightforward reference run finds: every check on its own, over dictionary hits found by
``str.find`` for every key in the folded text.  On the precision corpora and on the articles
bench/checks.py generates, with both engines."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any, ClassVar

import pytest

from bench.checks import Generator
from moderation.checks import CheckPipeline, ScanContext
from moderation.checks.data import _TRIGGER_ENTRIES, Entry, Lexicon, _trigger_keys
from moderation.checks.normalize import fold
from tests.moderation.test_checks_precision import NEGATIVES, POSITIVES

ENGINES = ["daachorse", "pyahocorasick"]
TRIGGER_KEYS = list(_trigger_keys().items())
FINDINGS_FIXTURE = Path(__file__).parent / "data" / "bench_findings.jsonl.gz"
Row = tuple[str, str, int, int, str, str, str, str | None, str]


def _occurrences(haystack: str, key: str) -> list[int]:
    out, i = [], haystack.find(key)
    while i >= 0:
        out.append(i)
        i = haystack.find(key, i + 1)
    return out


def _isolated(text: str, start: int, end: int) -> bool:
    return all(
        not (c.isascii() and c.isalnum())
        for c in (fold(text[start - 1]) if start > 0 else "", fold(text[end]) if end < len(text) else "")
        if c
    )


class ReferenceContext(ScanContext):
    """Dictionary hits the slow, obvious way (every trigger, none thinned out)."""

    __slots__ = ()
    last: ClassVar[list[Any]] = [None, None, {}]  # lexicon, text, buckets

    def _scan(self) -> dict[str, list[tuple[int, int, Entry]]]:
        last = self.last
        if last[0] is not self.lexicon or last[1] != self.text:  # every check reads the same text
            last[:] = [self.lexicon, self.text, self._reference_scan()]
        return last[2]

    def _reference_scan(self) -> dict[str, list[tuple[int, int, Entry]]]:
        text, folded = self.text, fold(self.text)
        keyed = [(fold(e.term), e) for e in self.lexicon.entries]
        buckets: dict[str, list[tuple[int, int, Entry]]] = {}
        for key, entry in keyed:
            for s in _occurrences(folded, key):
                e = s + len(key)
                if not entry.word or _isolated(text, s, e):
                    buckets.setdefault(entry.kind, []).append((s, e, entry))
        for key, kind in TRIGGER_KEYS:
            if key[:2] in folded:  # (10,000 digit keys: skip the misses quickly)
                for s in _occurrences(folded, key):
                    buckets.setdefault(kind, []).append((s, s + len(key), _TRIGGER_ENTRIES[kind]))
        allow = buckets.pop("allow", [])
        for kind, hits in list(buckets.items()):
            if kind.startswith("~"):
                hits.sort(key=lambda h: (h[1], h[0]))
                continue
            kept = [
                h
                for h in hits
                if not any(a <= h[0] and h[1] <= b and (not ae.data or kind in ae.data) for a, b, ae in allow)
            ]
            buckets[kind] = sorted(kept, key=lambda h: (h[0], h[0] - h[1]))
        return buckets


def reference(pipe: CheckPipeline, fields: dict[str, str]) -> list[Row]:
    rows: set[Row] = set()
    for name, text in fields.items():
        for check in pipe.checks:
            ctx = ReferenceContext(text, pipe.lexicon, name)
            for h in check.check(text, ctx):
                kind = h.kind or check.kind
                rows.add((name, kind, h.start, h.end, h.severity, h.message, h.rule, h.suggestion, h.text))
    return sorted(rows, key=str)


def optimised(pipe: CheckPipeline, fields: dict[str, str]) -> list[Row]:
    found = [
        (f.field, f.kind, f.start, f.end, f.severity, f.message, f.rule, f.suggestion, f.text) for f in pipe.run(fields)
    ]
    assert len(set(found)) == len(found)
    return sorted(found, key=str)


@pytest.fixture(scope="module", params=ENGINES)
def starter_pipe(request: pytest.FixtureRequest) -> CheckPipeline:
    pipe = CheckPipeline(reload_interval=None, engine=request.param)
    assert pipe.lexicon.automaton.name == request.param
    return pipe


def test_same_findings_as_reference_on_the_corpora(starter_pipe: CheckPipeline) -> None:
    lines = [line for _, line in NEGATIVES] + [line.split("\t")[-1] for _, line in POSITIVES]
    total = 0
    for line in lines:
        fields = {"body": line.replace("\\n", "\n")}
        expected = reference(starter_pipe, fields)
        assert optimised(starter_pipe, fields) == expected, line
        total += len(expected)
    assert total > 200  # the corpora do produce findings


@pytest.mark.parametrize("engine", ENGINES)
def test_same_findings_as_reference_on_bench_articles(engine: str, tmp_path: Path) -> None:
    gen = Generator(seed=20240607, terms=2_000)
    lines = [f"{t}\t{'block' if i % 10 == 0 else 'warn'}\tbench" for i, t in enumerate(gen.terms)]
    (tmp_path / "sensitive_terms.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    pipe = CheckPipeline(data_dir=tmp_path, reload_interval=None, engine=engine)
    kinds: set[str] = set()
    for _ in range(6):
        article = gen.text(10_000)
        fields = {"title": article[:40], "body": article}
        expected = reference(pipe, fields)
        assert optimised(pipe, fields) == expected
        kinds.update(row[1] for row in expected)
    assert kinds >= {"sensitive", "commercial", "serious_error", "secrecy", "privacy", "link"}


def test_engines_build_the_same_lexicon() -> None:
    a, b = (Lexicon.load(engine=e) for e in ENGINES)
    assert a.values == b.values and a.automaton.name != b.automaton.name


def test_same_findings_as_before_the_fast_path(tmp_path: Path) -> None:
    """Findings on the first 16 bench articles (50,000-term dictionary) equal, field for field and in
    order, those the pipeline produced before the issue-16 fast path (data/bench_findings.jsonl.gz)."""
    stored = [json.loads(line) for line in gzip.decompress(FINDINGS_FIXTURE.read_bytes()).decode().splitlines()]
    gen = Generator(seed=20240607, terms=50_000)
    articles = [gen.text(10_000) for _ in range(16)]
    lines = [f"{t}\t{'block' if i % 10 == 0 else 'warn'}\tbench" for i, t in enumerate(gen.terms)]
    (tmp_path / "sensitive_terms.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for engine in ENGINES:
        pipe = CheckPipeline(data_dir=tmp_path, reload_interval=None, engine=engine)
        found = [
            {"article": i, **f.to_dict()}
            for i, article in enumerate(articles)
            for f in pipe.run({"title": article[:40], "body": article})
        ]
        assert len(found) == len(stored) == 345
        assert found == stored, engine


WIDE = {c: chr(ord(c) + 0xFEE0) for c in "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ./"}


@pytest.mark.parametrize("engine", ENGINES)
def test_same_findings_as_reference_with_full_width_and_capitals(engine: str, tmp_path: Path) -> None:
    """Texts full of characters that fold (capitals, full-width digits and letters, mixed in one
    number or URL) take the fold-window path of the scan: still exactly the reference."""
    gen = Generator(seed=7, terms=2_000)
    lines = [f"{t}\t{'block' if i % 10 == 0 else 'warn'}\tbench" for i, t in enumerate(gen.terms)]
    lines += ["vpn\tblock\tbench", "app下载\twarn\tbench", "12345\twarn\tbench"]
    (tmp_path / "sensitive_terms.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    pipe = CheckPipeline(data_dir=tmp_path, reload_interval=None, engine=engine)
    rng = gen.rng
    changed = 0
    for _ in range(6):
        chars = list(
            gen.text(3_000) + "下载APP，翻墙ＶＰＮ与VpN，电话１３８１２３４5678，ＨＴＴＰＳ://WWW.Example.COM／x"
        )
        for i, c in enumerate(chars):
            if c in WIDE and rng.random() < 0.4:
                chars[i] = WIDE[c] if rng.random() < 0.6 else c.upper()
                changed += 1
        text = "".join(chars)
        fields = {"title": text[:40], "body": text}
        assert optimised(pipe, fields) == reference(pipe, fields)
    assert changed > 100
