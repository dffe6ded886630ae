"""Benchmark of moderation.checks (prints figures, asserts nothing).

    .venv/bin/python bench/checks.py            # 50,000-term dictionary, ~20 MB corpus, 500 latency runs
    .venv/bin/python bench/checks.py --quick    # same dictionary, ~2 MB corpus, 200 runs (smoke, < 30 s)
    .venv/bin/python bench/checks.py --mb 50 --terms 100000 --seed 7 --rounds 5

Synthetic, seeded, nothing downloaded.  Characters follow the coverage curve of modern Chinese (top
500 ≈ 78 %, 1,000 ≈ 91 %, 2,500 ≈ 98 %, 3,500 ≈ 99.5 %; 1/rank inside each band) over a
frequency-ordered list (common characters first, then the CJK block in random order), with
Chinese punctuation and line breaks.  The 50,000 dictionary terms (2–6 characters) are drawn
uniformly from the 3,500 common characters, like the specific words a real word list holds.  About
once every 400 characters the generator plants something the checks should find or consider:
a dictionary term, a starter-list term, a secrecy word, a wrong country name, a mobile or office
phone, an ID (valid or not), a bank card, a URL, a date or an amount.

Figures (every rate is also given per CPU second of this process, which the other load on a
shared machine disturbs less than the wall clock; every throughput is the best of ``--rounds``
rounds, the measurements interleaved within a round):
* MB/s (UTF-8 bytes) of the full pipeline over ~10,000-character articles, on the default engine
  (daachorse) and on the fallback (pyahocorasick, for machines without a daachorse wheel);
* MB/s of the bare automata over the same articles, in the same run:
  (a) pyahocorasick ``iter()`` with plain ``str`` keys — the obvious baseline;
  (b) each pipeline's own compiled automaton alone (the same terms + the starter lists + trigger
  keys + one key per character that folding changes; ``Engine.bare`` in
  moderation/checks/engines.py) over pre-folded (and, for pyahocorasick, pre-encoded) text,
  which isolates what the pipeline adds around its automaton;
* ratios: each pipeline / its own bare automaton, and the default pipeline / the bare
  pyahocorasick automaton the pipeline used before (the ceiling quoted in issue 16);
* whether the findings equal, finding for finding, those of the pipeline before issue 16 (a
  sha256 stored below for the default and --quick corpora) and those of the fallback engine;
* where a run's time goes (CPU µs per 10,000 characters and share of the run): the automaton
  call, what the scan adds around it (fold windows, buckets, allow-list), each check's ``rows``,
  and the rest of ``run`` (skipping checks, de-duplicating, sorting, building the findings);
* latency p50/p99 of ``run({"title", "body"})`` on 10,000-character articles (default engine).

Goals (issue 16): pipeline ≥ 0.85× the bare pass of its own automaton; p99 ≤ 3 ms for a
10,000-character article.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from itertools import accumulate
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import ahocorasick

from moderation.checks import CheckPipeline, ScanContext
from moderation.checks.base import RowCheck
from moderation.checks.engines import daachorse
from moderation.checks.normalize import PRIMER_CHARS, fold

CJK = [chr(c) for c in range(0x4E00, 0x9FA6)]
PUNCT_MID = "，，，，、、；："
PUNCT_END = "。。。。！？"
STARTER_SNIPPETS = (
    "网络赌博",
    "高价回收银行卡",
    "扫码领取",
    "点击购买",
    "中华人民共合国",
    "领导小姐",
    "党史教育",
    "保守秘密",
    "商业秘密",
    "请示报告制度",
    "内部资料",
    "（征求意见稿）",
    "新冠肺炎",
    "环境保护部门",
    "北京东路",
)


def id_number(rng: random.Random, valid: bool) -> str:
    prefix = f"{rng.choice([11, 31, 44, 51, 61])}{rng.randint(1, 9999):04d}"
    body = (
        prefix + f"{rng.randint(1950, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    )
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    check = "10X98765432"[sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11]
    if not valid:
        check = "0" if check != "0" else "1"
    return body + check


def card_number(rng: random.Random) -> str:
    body = "6222" + "".join(rng.choice("0123456789") for _ in range(14))
    total = 0
    for i, ch in enumerate(reversed(body)):
        n = int(ch) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return body + str((10 - total % 10) % 10)


class Generator:
    def __init__(self, seed: int, terms: int) -> None:
        self.rng = random.Random(seed)
        head = []
        seen: set[str] = set()
        for ch in PRIMER_CHARS:
            if "\u4e00" <= ch <= "\u9fa5" and ch not in seen:
                seen.add(ch)
                head.append(ch)
        tail = [c for c in CJK if c not in seen]
        self.rng.shuffle(tail)
        self.chars = head + tail
        # Character coverage of modern Chinese text, roughly: the top 500 characters ≈ 78 %, top
        # 1,000 ≈ 91 %, top 2,500 ≈ 98 %, top 3,500 ≈ 99.5 %; Zipf-like (1/rank) inside each band.
        bands = ((0, 500, 0.78), (500, 1000, 0.13), (1000, 2500, 0.07), (2500, 3500, 0.015), (3500, 7000, 0.005))
        weights: list[float] = []
        for lo, hi, share in bands:
            w = [1.0 / (r + 1) for r in range(lo, hi)]
            total = sum(w)
            weights.extend(x * share / total for x in w)
        self.cum = list(accumulate(weights))
        self.chars = self.chars[: len(weights)]
        # Dictionary terms: characters uniform over the 3,500 common characters (常用字).
        common = self.chars[:3500]
        lengths = self.rng.choices((2, 3, 4, 5, 6), weights=(3, 35, 35, 17, 10), k=terms)
        dictionary: set[str] = set()
        while len(dictionary) < terms:
            n = lengths[len(dictionary)]
            dictionary.add("".join(self.rng.choices(common, k=n)))
        self.terms = sorted(dictionary)
        self.planted: Counter[str] = Counter()

    def plant(self) -> str:
        rng = self.rng
        r = rng.random()
        if r < 0.30:
            self.planted["dictionary term"] += 1
            return rng.choice(self.terms)
        if r < 0.50:
            self.planted["starter term"] += 1
            return rng.choice(STARTER_SNIPPETS)
        if r < 0.60:
            self.planted["mobile/landline"] += 1
            return rng.choice(["联系电话13", "咨询电话0571-8"]) + "".join(rng.choice("0123456789") for _ in range(9))
        if r < 0.65:
            self.planted["ID (half valid)"] += 1
            return "身份证" + id_number(rng, rng.random() < 0.5)
        if r < 0.67:
            self.planted["bank card"] += 1
            return "卡号" + card_number(rng)
        if r < 0.75:
            self.planted["URL"] += 1
            host = rng.choice(["www.gov.cn", "example.com", "item.taobao.com", "www.news.cn", "t.cn"])
            return f" https://{host}/p/{rng.randint(1, 99999)} "
        self.planted["date/amount"] += 1
        return f"{rng.randint(2000, 2030)}年{rng.randint(1, 12)}月{rng.randint(1, 28)}日投入{rng.randint(1, 99999)}万元"

    def text(self, n_chars: int) -> str:
        rng = self.rng
        out: list[str] = []
        size = 0
        while size < n_chars:
            clause = "".join(rng.choices(self.chars, cum_weights=self.cum, k=rng.randint(6, 24)))
            if rng.random() < 0.06:
                clause += self.plant()
            clause += rng.choice(PUNCT_END if rng.random() < 0.3 else PUNCT_MID)
            if rng.random() < 0.03:
                clause += "\n"
            out.append(clause)
            size += len(clause)
        return "".join(out)


# sha256 of the findings (to_dict as sorted-key JSON, one per line, "--" after each article) that
# the pipeline produced before issue 16's fast path, on the default and --quick corpora.
REFERENCE_DIGESTS = {
    (20240607, 50_000, 67, 10_000): "217abed73dc6c0b761d8aef842103c9674060d11168e181a65d09fb27c702ee9",
    (20240607, 50_000, 667, 10_000): "3a655d1945a85c52a139107208d22508fdd4b159f8889ea4156f5effa2b13543",
}


def digest(pipe: CheckPipeline, articles: list[str]) -> str:
    h = hashlib.sha256()
    for a in articles:
        for f in pipe.run({"title": a[:40], "body": a}):
            h.update(json.dumps(f.to_dict(), ensure_ascii=False, sort_keys=True).encode() + b"\n")
        h.update(b"--\n")
    return h.hexdigest()


def mb(texts: list[str]) -> float:
    return sum(len(t.encode("utf-8")) for t in texts) / 1e6


def best_of(rounds: int, runs: list[tuple[str, Callable[[list[str]], object], list[str]]]) -> list[tuple[float, float]]:
    """(wall MB/s, CPU MB/s) of each ``fn(texts)``: the best of ``rounds`` rounds, the runs
    interleaved within each round so that a burst of load on a shared machine hits them alike."""
    best = [(float("inf"), float("inf"))] * len(runs)
    for _ in range(rounds):
        for i, (_label, fn, texts) in enumerate(runs):
            gc.collect()
            t0, c0 = time.perf_counter(), time.process_time()
            fn(texts)
            dt, dc = time.perf_counter() - t0, time.process_time() - c0
            best[i] = (min(best[i][0], dt), min(best[i][1], dc))
    rates = []
    for (label, _fn, texts), (dt, dc) in zip(runs, best, strict=True):
        rate, cpu_rate = mb(texts) / dt, mb(texts) / dc
        print(f"  {label:<52} {dt:6.2f} s {rate:7.2f} MB/s   CPU {dc:6.2f} s {cpu_rate:7.2f} MB/s")
        rates.append((rate, cpu_rate))
    return rates


def ratio(label: str, a: tuple[float, float], b: tuple[float, float], goal: str = "") -> None:
    print(f"  ratio {label:<52} {a[0] / b[0]:5.2f}x   CPU {a[1] / b[1]:5.2f}x   {goal}")


def breakdown(pipe: CheckPipeline, articles: list[str], rounds: int) -> None:
    """Where a run's time goes, per 10,000 characters (CPU, best of ``rounds``, interleaved), as
    differences of cumulative stages over the same fields (title + body), results dropped at once
    as ``run`` does: the automaton call on the raw text; what ``Lexicon.scan`` adds around it (fold
    windows, buckets, allow-list); the checks' ``rows`` on a fresh scan; the rest of ``run``
    (skipping, de-duplicating, sorting, building the CheckFinding objects).  Each check's own
    share is measured on texts scanned beforehand."""
    lexicon = pipe.lexicon
    fields = [text for a in articles for text in (a[:40], a)]
    checks = [c for c in pipe.checks if isinstance(c, RowCheck)]
    contexts: list[ScanContext] = []  # filled only for the per-check part: kept alive, they
    # would make every full garbage collection during the other parts walk their hits

    def automaton() -> None:
        for t in fields:
            lexicon.automaton.matches(t)

    def scan() -> None:
        for t in fields:
            lexicon.scan(t)

    def scan_and_checks() -> None:
        for t in fields:
            ctx = ScanContext(t, lexicon)
            for c in checks:
                for _row in c.rows(t, ctx):
                    pass

    def run() -> None:
        for a in articles:
            pipe.run({"title": a[:40], "body": a})

    def one_check(c: RowCheck) -> Callable[[], None]:
        def rows() -> None:
            for ctx in contexts:
                for _row in c.rows(ctx.text, ctx):
                    pass

        return rows

    def best_cpu(parts: list[Callable[[], None]]) -> list[float]:
        best = [float("inf")] * len(parts)
        for _ in range(rounds):
            for i, fn in enumerate(parts):
                gc.collect()
                c0 = time.process_time()
                fn()
                best[i] = min(best[i], time.process_time() - c0)
        return best

    best = best_cpu([automaton, scan, scan_and_checks, run])
    contexts.extend(ScanContext(t, lexicon) for t in fields)
    for ctx in contexts:
        ctx.buckets()

    def automaton_then_checks() -> None:  # the two alternating, on pre-scanned texts
        for ctx in contexts:
            lexicon.automaton.matches(ctx.text)
            for c in checks:
                for _row in c.rows(ctx.text, ctx):
                    pass

    best += best_cpu([automaton_then_checks, automaton, *(one_check(c) for c in checks)])
    per = 1e6 * 10_000 / sum(len(a) for a in articles)  # µs per 10,000 characters
    t_automaton, t_scan, t_checked, t_run, t_alternating, t_automaton2, *per_check = (b * per for b in best)
    print(f"where a run's time goes (CPU µs per 10,000 characters, best of {rounds}; share of the run):")
    rows = [
        ("automaton call (find_overlapping, raw text)", t_automaton),
        ("scan around it: fold windows, buckets, allow-list", t_scan - t_automaton),
        ("checks' rows (regexes, validation, messages)", t_checked - t_scan),
        ("run: skip, de-duplicate, sort, build findings", t_run - t_checked),
        ("total run", t_run),
    ]
    for label, t in rows:
        print(f"  {label:<52} {t:8.1f} µs  {t / t_run:6.1%}")
    total = sum(per_check)
    print("  the checks' rows on pre-scanned texts, each (share of the checks):")
    for c, t in zip(checks, per_check, strict=True):
        print(f"    {type(c).__name__:<50} {t:8.1f} µs  {t / total:6.1%}")
    print(f"    {'(sum)':<50} {total:8.1f} µs")
    slower = t_alternating - t_automaton2 - total
    print(
        f"  the automaton alternating with the checks costs {slower:.1f} µs more than the two apart "
        f"({t_alternating:.1f} vs {t_automaton2:.1f} + {total:.1f}): the automaton (~3.8 MB) and the checks' "
        "code and data evict each other from the CPU caches, most likely; timed per call, both sides slow down "
        "(see docs/checks.md)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="~2 MB corpus and 200 latency runs")
    ap.add_argument("--mb", type=float, default=None, help="corpus size in MB (default 20, quick 2)")
    ap.add_argument("--terms", type=int, default=50_000)
    ap.add_argument("--runs", type=int, default=None, help="latency runs (default 500, quick 200)")
    ap.add_argument("--article-chars", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=20240607)
    ap.add_argument("--rounds", type=int, default=3, help="throughput rounds, best kept (default 3)")
    args = ap.parse_args()
    rounds = max(1, args.rounds)
    target_mb = args.mb if args.mb is not None else (2.0 if args.quick else 20.0)
    runs = args.runs if args.runs is not None else (200 if args.quick else 500)

    t0 = time.perf_counter()
    gen = Generator(args.seed, args.terms)
    n_articles = max(1, round(target_mb * 1e6 / (args.article_chars * 3)))
    articles = [gen.text(args.article_chars) for _ in range(n_articles)]
    print(
        f"generated {len(gen.terms):,} dictionary terms and {len(articles):,} articles of ~{args.article_chars:,} "
        f"characters = {mb(articles):.1f} MB in {time.perf_counter() - t0:.1f} s (seed {args.seed})"
    )
    print("  planted: " + ", ".join(f"{k} {v:,}" for k, v in sorted(gen.planted.items())))

    with tempfile.TemporaryDirectory() as tmp:
        lines = [f"{t}\t{'block' if i % 10 == 0 else 'warn'}\tbench" for i, t in enumerate(gen.terms)]
        Path(tmp, "sensitive_terms.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        t0 = time.perf_counter()
        pipe = CheckPipeline(data_dir=tmp, reload_interval=None)
        engine = pipe.lexicon.automaton.name
        print(
            f"pipeline compiled in {time.perf_counter() - t0:.2f} s ({sum(pipe.lexicon.counts.values()):,} entries, "
            f"engine {engine})"
        )
        t0 = time.perf_counter()
        pipe.reload()
        print(f"explicit reload in {time.perf_counter() - t0:.2f} s")
        t0 = time.perf_counter()
        fallback = CheckPipeline(data_dir=tmp, reload_interval=None, engine="pyahocorasick")
        print(f"fallback pipeline (pyahocorasick) compiled in {time.perf_counter() - t0:.2f} s")
    if daachorse is None:
        print("  (daachorse is not installed: the default pipeline runs on the pyahocorasick fallback)")

    naive = ahocorasick.Automaton()
    for i, t in enumerate(gen.terms):
        naive.add_word(t, (len(t), i))
    naive.make_automaton()
    folded = [fold(a) for a in articles]

    def bare_naive(texts: list[str]) -> None:
        for t in texts:
            for _ in naive.iter(t):
                pass

    def bare_of(p: CheckPipeline):
        automaton = p.lexicon.automaton
        prepared = [automaton.bare_input(t) for t in folded]

        def bare(_texts: list[str]) -> None:
            for t in prepared:
                automaton.bare(t)

        return bare

    findings: Counter[str] = Counter()
    fallback_findings: Counter[str] = Counter()

    def run_of(p: CheckPipeline, counter: Counter[str]):
        def run(texts: list[str]) -> None:
            counter.clear()
            for t in texts:
                for f in p.run({"title": t[:40], "body": t}):
                    counter[f"{f.kind}/{f.severity}"] += 1

        return run

    print(f"throughput over {mb(articles):.1f} MB (best of {rounds} interleaved rounds):")
    r_naive, r_fb_bare, r_bare, r_pipe, r_fb = best_of(
        rounds,
        [
            ("bare pyahocorasick iter(), str keys", bare_naive, articles),
            ("bare pyahocorasick, fallback's own automaton", bare_of(fallback), articles),
            (f"bare {engine}, pipeline's own automaton", bare_of(pipe), articles),
            (f"full pipeline on {engine} (all checks, title + body)", run_of(pipe, findings), articles),
            ("full pipeline on pyahocorasick (fallback)", run_of(fallback, fallback_findings), articles),
        ],
    )
    print(
        f"  findings: {sum(findings.values()):,} (" + ", ".join(f"{k} {v:,}" for k, v in sorted(findings.items())) + ")"
    )
    print(f"  fallback findings identical: {findings == fallback_findings}")
    expected = REFERENCE_DIGESTS.get((args.seed, args.terms, len(articles), args.article_chars))
    if expected is None:
        print("  (no stored reference for this corpus: the default and --quick corpora have one)")
    else:
        same = digest(pipe, articles) == expected
        print(f"  findings identical to the stored reference (the pipeline before issue 16): {same}")
    ratio(f"pipeline on {engine} / its own bare automaton", r_pipe, r_bare, "(goal ≥ 0.85x)")
    ratio("fallback pipeline / its own bare automaton", r_fb, r_fb_bare, "(goal ≥ 0.85x)")
    ratio(f"pipeline on {engine} / bare pyahocorasick automaton", r_pipe, r_fb_bare, "(the ceiling before)")
    ratio(f"pipeline on {engine} / fallback pipeline", r_pipe, r_fb)
    ratio(f"pipeline on {engine} / bare str-key automaton", r_pipe, r_naive)
    breakdown(pipe, articles, rounds)

    samples = articles[: min(len(articles), 50)]
    for a in samples[:5]:  # warm-up
        pipe.run({"title": a[:40], "body": a})
    gc.collect()
    lat: list[float] = []
    cpu: list[float] = []
    for i in range(runs):
        a = samples[i % len(samples)]
        t0, c0 = time.perf_counter_ns(), time.process_time_ns()
        pipe.run({"title": a[:40], "body": a})
        lat.append((time.perf_counter_ns() - t0) / 1e6)
        cpu.append((time.process_time_ns() - c0) / 1e6)

    def pct(values: list[float], p: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))]

    head = f"latency, {runs} runs over {len(samples)} different {args.article_chars:,}-character articles"
    for label, values in (("wall", lat), ("CPU ", cpu)):
        print(
            f"{head}, {label}: p50 {pct(values, 0.50):.2f} ms, p90 {pct(values, 0.90):.2f} ms, "
            f"p99 {pct(values, 0.99):.2f} ms, max {max(values):.2f} ms   (goal p99 ≤ 3 ms)"
        )


if __name__ == "__main__":
    main()
