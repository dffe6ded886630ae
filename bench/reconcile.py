"""Benchmark of oversight.reconcile at registry scale (prints figures, asserts nothing).

    .venv/bin/python bench/reconcile.py                      # 100,000 registered × 1,000,000 discovered
    .venv/bin/python bench/reconcile.py --quick              # 10,000 × 100,000 smoke run
    .venv/bin/python bench/reconcile.py --registered 50000 --discovered 300000 --seed 7

Synthetic data: ~2,000 county-level regions (at full size) of our jurisdiction, each with ~15
units (人民政府, 部门, 党委部门, 群团, 事业单位, 乡镇/街道); accounts on the usual platforms
(≈3.3 per unit). Discovered records = copies of the registered accounts (some with benign
changes: full-width characters, decorative suffixes, spaces, 人民政府/政府 and city-prefix forms of
the 认证主体, missing 认证主体) + planted cases of every finding kind + noise (other
jurisdictions' government accounts, companies and individuals with look-alike names), which is
what keyword discovery mostly returns.

Goals: reconcile() ≤ 60 s and ≤ 2 GB peak on 2 cores; precision and recall ≥ 0.95.
"""

from __future__ import annotations

import argparse
import gc
import random
import resource
import sys
import time
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from oversight.reconcile import (
    ReconRecord,
    RegisteredAccount,
    Thresholds,
    UnitRef,
    reconcile,
)

PROVINCES = (
    "河北省",
    "山西省",
    "辽宁省",
    "吉林省",
    "黑龙江省",
    "江苏省",
    "浙江省",
    "安徽省",
    "福建省",
    "江西省",
    "山东省",
    "河南省",
    "湖北省",
    "湖南省",
    "广东省",
    "海南省",
    "四川省",
    "贵州省",
    "云南省",
    "陕西省",
    "甘肃省",
    "青海省",
)
PLACE_CHARS = (
    "安宁平和兴隆昌盛丰泰康福永宝山河江湖海川岭峰林松柏青绿白黄红金银石玉东南西北中上下新长"
    "高大小清明阳阴台德仁义信华光武文成乐寿吉庆瑞祥云龙凤鹤城关桥溪泉塘湾洲坪坝沙岩田"
)
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏飞宇浩然婷雪梅"

# (department as in the unit name, short form used in account names, alternative official form)
DEPARTMENTS = (
    ("人民政府办公室", "政府办", None),
    ("教育局", "教育", None),
    ("公安局", "公安", None),
    ("财政局", "财政", None),
    ("民政局", "民政", None),
    ("人力资源和社会保障局", "人社", "人力资源社会保障局"),
    ("自然资源局", "自然资源", None),
    ("住房和城乡建设局", "住建", "住房城乡建设局"),
    ("交通运输局", "交通", None),
    ("水利局", "水利", None),
    ("农业农村局", "农业农村", None),
    ("商务局", "商务", None),
    ("文化和旅游局", "文旅", "文化旅游局"),
    ("卫生健康局", "卫健", None),
    ("退役军人事务局", "退役军人", None),
    ("应急管理局", "应急", None),
    ("审计局", "审计", None),
    ("市场监督管理局", "市场监管", None),
    ("统计局", "统计", None),
    ("医疗保障局", "医保", None),
    ("林业局", "林业", None),
    ("综合行政执法局", "城管", None),
    ("行政审批服务局", "行政审批", None),
    ("信访局", "信访", None),
    ("司法局", "司法", None),
    ("发展和改革局", "发改", "发展改革局"),
    ("科学技术局", "科技", None),
    ("人民法院", "法院", None),
    ("人民检察院", "检察", None),
    ("融媒体中心", "融媒", None),
    ("疾病预防控制中心", "疾控", None),
    ("政务服务中心", "政务服务", None),
    ("消防救援大队", "消防", None),
    ("公安局交通警察大队", "交警", None),
    ("气象局", "气象", None),
    ("妇女联合会", "妇联", None),
    ("总工会", "工会", None),
    ("人民代表大会常务委员会", "人大", None),
)
PARTY = (("委宣传部", "宣传"), ("委组织部", "组工"), ("纪律检查委员会", "纪检监察"), ("委政法委员会", "政法"))
PLATFORMS = (
    ("wechat", 0.9),
    ("weibo", 0.7),
    ("douyin", 0.6),
    ("toutiao", 0.45),
    ("channels", 0.3),
    ("kuaishou", 0.2),
    ("bilibili", 0.05),
    ("xiaohongshu", 0.05),
    ("baijiahao", 0.05),
)
RENAME_PHRASES = ("微生活", "好声音", "身边事", "资讯", "民生", "新闻眼", "视界", "云端", "快报", "故事")
BIZ = ("文化传媒有限公司", "网络科技有限公司", "信息技术有限公司", "广告有限公司", "教育科技有限公司", "商贸有限公司")
NOW = datetime(2026, 3, 1, 12, 0)


class Gen:
    def __init__(self, n_registered: int, n_discovered: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.R = n_registered
        self.M = n_discovered
        self.uid_seq = 0
        self.key_seq = 0
        self.expected: set[tuple[str, str]] = set()
        self.expected_by_kind: Counter[str] = Counter()

    # ------------------------------------------------------------------ helpers
    def uid(self, platform: str) -> str:
        self.uid_seq += 1
        n = self.uid_seq
        if platform == "wechat":
            return f"gh_{n * 2654435761 % (1 << 48):012x}"
        if platform == "weibo":
            return str(5_000_000_000 + n * 7919)
        if platform in ("douyin", "kuaishou"):
            return f"{platform[:2]}{n * 104729 % 10**11:011d}"
        return f"{n * 15485863 % 10**12:012d}"

    def key(self) -> str:
        self.key_seq += 1
        return f"d{self.key_seq}"

    def expect(self, kind: str, ref: str) -> None:
        self.expected.add((kind, ref))
        self.expected_by_kind[kind] += 1

    def stems(self, n: int, used: set[str]) -> list[str]:
        out: list[str] = []
        while len(out) < n:
            s = self.rng.choice(PLACE_CHARS) + self.rng.choice(PLACE_CHARS)
            if s[0] != s[1] and s not in used:
                used.add(s)
                out.append(s)
        return out

    # ------------------------------------------------------------------ org list
    def build_units(self) -> None:
        rng = self.rng
        n_counties = max(40, self.R // 50)
        n_other = max(20, n_counties // 2)
        used: set[str] = set()
        city_stems = self.stems(max(4, (n_counties + n_other) // 20), used)
        county_stems = self.stems(n_counties + n_other, used)
        self.units: list[UnitRef] = []
        self.unit_meta: dict[int, tuple[str, str, str, str]] = {}  # id -> (county, stem, short, city)
        self.counties: list[tuple[str, str, str, str]] = []  # (county, stem, city, region)
        self.other_units: list[tuple[str, str, str]] = []  # (subject, account name, region)
        uid = 0
        for i, stem in enumerate(county_stems):
            city = city_stems[i % len(city_stems)] + "市"
            province = PROVINCES[i % len(PROVINCES)]
            county = stem + rng.choice("县县区区市")
            region = f"{province}{city}{county}"
            ours = i < n_counties
            depts = rng.sample(DEPARTMENTS, 9)
            items: list[tuple[str, str, str | None]] = [("人民政府", "发布", None)]
            items += [(d, s, alt) for d, s, alt in depts]
            for p, short in rng.sample(PARTY, 2):
                items.append((f"中共{county}{p}", short, None))
            for town in self.stems(3, set()):
                kind = rng.choice(("镇", "镇", "乡", "街道"))
                suffix = "人民政府" if kind != "街道" else "办事处"
                items.append((f"{town}{kind}{suffix}", town + kind, None))
            for dept, short, _alt in items:
                if dept.startswith("中共"):
                    name = dept
                elif rng.random() < 0.1:
                    name = f"{city}{county}{dept}"
                else:
                    name = f"{county}{dept}"
                if not ours:
                    self.other_units.append((name, f"{stem}{short}", region))
                    continue
                uid += 1
                self.units.append(UnitRef(uid, name, region=region))
                self.unit_meta[uid] = (county, stem, short, city)
            if ours:
                self.counties.append((county, stem, city, region))
        self.other_cities = [c + "市" for c in self.stems(20, used)]

    def account_name(self, unit_id: int) -> str:
        county, stem, short, _ = self.unit_meta[unit_id]
        r = self.rng.random()
        if short.endswith(("镇", "乡", "街道")):
            return short + ("发布" if r < 0.5 else "")
        if r < 0.4:
            return f"{stem}{short}"
        if r < 0.7:
            return f"{county}{short}"
        if r < 0.8:
            return f"i{stem}" if short == "发布" else f"{stem}{short}12345"
        return f"{stem}{short}发布" if short != "发布" else f"{county}发布"

    def subject_variant(self, unit: UnitRef) -> str:
        """A benign different spelling of the unit name (must still match the unit)."""
        county, _stem, short, city = self.unit_meta[unit.id]
        name = unit.name
        if short.endswith(("镇", "乡", "街道")) and name.startswith(county) and self.rng.random() < 0.5:
            return name[len(county) :]  # town name without its county: often ambiguous
        if "人民政府" in name:
            return name.replace("人民政府", "政府")
        if name.startswith("中共") and "委" in name:
            return name.replace(f"{county}委", f"{county}委员会", 1)
        if name.startswith(city):
            return name[len(city) :]
        return city + name

    # ------------------------------------------------------------------ registry
    def build_registry(self) -> None:
        rng = self.rng
        self.registered: list[RegisteredAccount] = []
        self.unit_platforms: dict[int, set[str]] = {}
        acc_id = 0
        status_pool = ["active"] * 88 + ["changing"] * 3 + ["suspended"] * 2 + ["closing"] * 2
        status_pool += ["applying"] * 1 + ["closed"] * 2 + ["closed_on_platform"] * 2
        units = self.units
        while len(self.registered) < self.R:
            for u in units:
                if len(self.registered) >= self.R:
                    break
                have = self.unit_platforms.setdefault(u.id, set())
                base = self.account_name(u.id)
                for platform, p in PLATFORMS:
                    if platform in have or rng.random() >= p or len(self.registered) >= self.R:
                        continue
                    have.add(platform)
                    acc_id += 1
                    status = rng.choice(status_pool)
                    closed_on = None
                    if status in ("closed", "closed_on_platform"):
                        closed_on = date(2023, 1, 1) + timedelta(days=rng.randrange(900))
                    name = base if rng.random() < 0.85 else base + rng.choice(("", "发布", "官微"))
                    self.registered.append(
                        RegisteredAccount(
                            acc_id, platform, self.uid(platform), name, u.id, u.name, status, u.region, closed_on
                        )
                    )
        self.next_acc_id = acc_id

    # ------------------------------------------------------------------ discovered
    def record(self, platform: str, uid: str | None, name: str, subject: str | None, **kw: object) -> ReconRecord:
        return ReconRecord(self.key(), platform, uid, name, subject, **kw)  # type: ignore[arg-type]

    def recent(self) -> datetime:
        return NOW - timedelta(hours=self.rng.randrange(1, 24 * 60))

    def benign_name(self, name: str) -> str:
        rng = self.rng
        r = rng.random()
        if r < 0.3:
            return name.translate(FULLWIDTH) if any(c.isascii() for c in name) else name + "官微"
        if r < 0.55:
            return name + rng.choice(("发布", "官微", "微博", "公众号"))
        if r < 0.8:
            return name[:2] + " " + name[2:]
        return "「" + name + "」"

    def build_discovered(self) -> None:
        rng = self.rng
        n_plant = max(10, self.R // 300)
        units_by_id = {u.id: u for u in self.units}
        recs: list[ReconRecord] = []
        self.previously_seen: set[tuple[str, str]] = set()
        live = ("active", "changing", "suspended")
        accounts = list(self.registered)
        rng.shuffle(accounts)
        planted_accounts: dict[int, str] = {}
        pick = iter(a for a in accounts if a.status in live)
        pick_closed = iter(a for a in accounts if a.status in ("closed", "closed_on_platform"))
        for _ in range(n_plant):
            planted_accounts[next(pick).id] = "name_mismatch"
            planted_accounts[next(pick).id] = "subject_mismatch"
            planted_accounts[next(pick).id] = "dup_discovery"
            planted_accounts[next(pick).id] = "dup_registry"
            planted_accounts[next(pick_closed).id] = "closed_but_active"
            planted_accounts[next(pick_closed).id] = "reopened"
        # registry-internal duplicates: a second live account of the same unit on the same platform
        extra: list[RegisteredAccount] = []
        for a in accounts:
            if planted_accounts.get(a.id) != "dup_registry":
                continue
            self.next_acc_id += 1
            b = RegisteredAccount(
                self.next_acc_id,
                a.platform,
                self.uid(a.platform),
                a.name + "2",
                a.unit_id,
                a.subject,
                "active",
                a.region,
            )
            extra.append(b)
            self.expect("duplicate", f"acct:{b.id}")
            recs.append(self.record(b.platform, b.uid, b.name, b.subject, verified=True, last_post_at=self.recent()))
        self.registered.extend(extra)

        for a in accounts:
            kind = planted_accounts.get(a.id)
            unit = units_by_id[a.unit_id]
            if kind == "name_mismatch":
                _, stem, _, _ = self.unit_meta[a.unit_id]
                new = stem + rng.choice(RENAME_PHRASES)
                r = self.record(a.platform, a.uid, new, unit.name, verified=True, last_post_at=self.recent())
                self.expect("name_mismatch", r.key)
            elif kind == "subject_mismatch":
                county, stem, _, _ = self.unit_meta[a.unit_id]
                if rng.random() < 0.5:
                    others = [u for u in self.units[max(0, a.unit_id - 12) : a.unit_id + 12] if u.id != unit.id]
                    same_county = [u for u in others if self.unit_meta[u.id][0] == county]
                    subj = rng.choice(same_county).name if same_county else f"{stem}{rng.choice(BIZ)}"
                else:
                    subj = f"{rng.choice(PLACE_CHARS)}{stem}{rng.choice(BIZ)}"
                r = self.record(a.platform, a.uid, a.name, subj, verified=True, last_post_at=self.recent())
                self.expect("subject_mismatch", r.key)
            elif kind == "dup_discovery":
                recs.append(
                    self.record(a.platform, a.uid, a.name, unit.name, verified=True, last_post_at=self.recent())
                )
                name = a.name + rng.choice(("", "服务", "之窗", "2"))
                subj = unit.name if rng.random() < 0.7 else self.subject_variant(unit)
                r = self.record(a.platform, self.uid(a.platform), name, subj, verified=True, last_post_at=self.recent())
                self.expect("duplicate", r.key)
            elif kind == "closed_but_active":
                closed_at = datetime.combine(a.closed_on or date(2024, 1, 1), datetime.min.time())
                if rng.random() < 0.8:
                    last = closed_at + timedelta(days=rng.randrange(2, 300))
                else:  # merely still reachable
                    last = closed_at - timedelta(days=rng.randrange(1, 60))
                r = self.record(a.platform, a.uid, a.name, unit.name, verified=True, last_post_at=last)
                self.previously_seen.add((a.platform, a.uid))
                self.expect("closed_but_active", r.key)
            elif kind == "reopened":
                closed_at = datetime.combine(a.closed_on or date(2024, 1, 1), datetime.min.time())
                last = closed_at + timedelta(days=rng.randrange(30, 300))
                r = self.record(a.platform, a.uid, a.name, unit.name, verified=True, last_post_at=last)
                self.expect("reopened", r.key)
            elif kind == "dup_registry":
                r = self.record(a.platform, a.uid, a.name, a.subject, verified=True, last_post_at=self.recent())
            elif a.status in ("closed", "closed_on_platform"):
                if rng.random() < 0.6:
                    continue  # properly gone from the platform
                r = self.record(a.platform, a.uid, a.name, None, platform_status="deregistered")
                self.previously_seen.add((a.platform, a.uid))
            else:
                if rng.random() < 0.03:
                    continue  # discovery missed it
                name = a.name if rng.random() < 0.93 else self.benign_name(a.name)
                x = rng.random()
                subj: str | None = unit.name if x < 0.85 else (self.subject_variant(unit) if x < 0.95 else None)
                r = self.record(
                    a.platform,
                    a.uid,
                    name,
                    subj,
                    verified=subj is not None,
                    region=unit.region if x < 0.5 else None,
                    last_post_at=self.recent(),
                    profile_url=None,
                )
            recs.append(r)

        # unregistered: a unit's account on a platform where the unit has no registered account
        units = list(self.units)
        rng.shuffle(units)
        planted = 0
        for u in units:
            if planted >= n_plant:
                break
            free = [p for p, _ in PLATFORMS if p not in self.unit_platforms[u.id]]
            if not free:
                continue
            platform = rng.choice(free)
            x = rng.random()
            if x < 0.6:
                subj = u.name
            elif x < 0.85:
                subj = self.subject_variant(u)
            else:
                alts = {d: alt for d, _s, alt in DEPARTMENTS if alt}
                dept = next((d for d in alts if u.name.endswith(d)), None)
                subj = u.name[: -len(dept)] + alts[dept] if dept else u.name
            r = self.record(
                platform,
                self.uid(platform),
                self.account_name(u.id),
                subj,
                verified=rng.random() < 0.9,
                region=u.region if rng.random() < 0.7 else None,
                last_post_at=self.recent(),
            )
            self.expect("unregistered", r.key)
            recs.append(r)
            planted += 1

        # noise up to M
        reg_names = [a.name for a in self.registered[:5000]]
        counties = self.counties
        n_noise = max(0, self.M - len(recs))
        platforms = [p for p, _ in PLATFORMS]
        for i in range(n_noise):
            platform = platforms[i % 6] if i % 10 else rng.choice(platforms)
            x = rng.random()
            if x < 0.4:
                subj, name, region = rng.choice(self.other_units)
                y = rng.random()
                if y < 0.1:  # a county of the same name in another city: 长春市朝阳区 vs our 朝阳区
                    county, stem, _city, _region = rng.choice(counties)
                    dept = rng.choice(DEPARTMENTS)[0]
                    other_city = rng.choice(self.other_cities)
                    subj, name = f"{other_city}{county}{dept}", f"{stem}{dept[:2]}"
                    region = f"{rng.choice(PROVINCES)}{other_city}{county}"
                elif y < 0.2:  # same stem, other level: 东山县 vs our 东山区
                    county, stem, _city, _region = rng.choice(counties)
                    level = "县" if county[-1] != "县" else "区"
                    subj, name = f"{stem}{level}{rng.choice(DEPARTMENTS)[0]}", f"{stem}{level}发布"
                    region = None
                if rng.random() < 0.3:
                    region = None
                recs.append(
                    self.record(
                        platform,
                        self.uid(platform),
                        name,
                        subj,
                        verified=True,
                        region=region,
                        last_post_at=self.recent(),
                    )
                )
            elif x < 0.75:
                county, stem, _city, region = rng.choice(counties)
                _, short, _ = rng.choice(DEPARTMENTS)
                tail = rng.choice(("", "服务", "资讯"))
                name = rng.choice(reg_names) if rng.random() < 0.1 else f"{stem}{short}{tail}"
                subj = f"{rng.choice((county, stem))}{rng.choice(PLACE_CHARS)}{rng.choice(BIZ)}"
                recs.append(
                    self.record(platform, self.uid(platform), name, subj, verified=True, last_post_at=self.recent())
                )
            else:
                county, stem, _city, region = rng.choice(counties)
                person = rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.5 else "")
                y = rng.random()
                if y < 0.1:
                    name = rng.choice(reg_names)
                elif y < 0.5:
                    name = f"{stem}{person}"
                else:
                    name = f"{county}小{person[0]}"
                subj = person if rng.random() < 0.3 else None
                recs.append(self.record(platform, self.uid(platform), name, subj, verified=subj is not None))
        rng.shuffle(recs)
        self.discovered = recs


FULLWIDTH = {c: c + 0xFEE0 for c in range(0x21, 0x7F)}


def rss_now_kb() -> int:
    try:
        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[1])
        return pages * resource.getpagesize() // 1024
    except OSError:
        return 0


def reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark (Linux ≥ 4.0) so ru_maxrss measures from here."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        return False
    return True


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--registered", type=int, default=100_000)
    ap.add_argument("--discovered", type=int, default=1_000_000)
    ap.add_argument("--quick", action="store_true", help="10,000 × 100,000 smoke run")
    ap.add_argument("--seed", type=int, default=20260301)
    args = ap.parse_args()
    if args.quick:
        args.registered, args.discovered = 10_000, 100_000

    t0 = time.perf_counter()
    g = Gen(args.registered, args.discovered, args.seed)
    g.build_units()
    g.build_registry()
    g.build_discovered()
    units, registered, discovered = g.units, g.registered, g.discovered
    print(
        f"generated {len(units):,} units, {len(registered):,} registered, {len(discovered):,} discovered "
        f"in {time.perf_counter() - t0:.1f} s; planted {dict(sorted(g.expected_by_kind.items()))}"
    )

    # Baseline: the bare dict join of the exact-match phase.
    gc.collect()
    t = time.perf_counter()
    idx = {(a.platform, a.uid): a.id for a in registered}
    pairs = [(r.key, i) for r in discovered if (i := idx.get((r.platform, r.uid))) is not None]
    baseline = time.perf_counter() - t
    n_pairs = len(pairs)
    del idx, pairs
    gc.collect()

    rss_before = rss_now_kb()
    peak_reset = reset_peak()
    t = time.perf_counter()
    result = reconcile(units, registered, discovered, Thresholds(), previously_seen=g.previously_seen)
    elapsed = time.perf_counter() - t
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    print(
        f"\nreconcile(): {elapsed:.2f} s   (bare dict join baseline {baseline:.2f} s, {n_pairs:,} pairs; "
        f"ratio {elapsed / baseline:.1f}×)"
    )
    print(f"  phases: {result.stats['seconds']}")
    label = "peak RSS during reconcile (ru_maxrss after reset)" if peak_reset else "peak RSS of process (ru_maxrss)"
    print(
        f"  {label}: {peak_kb / 1024:.0f} MiB; RSS before reconcile (inputs) {rss_before / 1024:.0f} MiB; "
        f"added by reconcile ≤ {(peak_kb - rss_before) / 1024:.0f} MiB"
    )
    keys = (
        "matched_by_uid",
        "matched_by_name",
        "unmatched",
        "unmatched_gone",
        "unmatched_government",
        "unresolved_government",
        "unmatched_non_government",
        "unmatched_no_subject",
    )
    print("  stats:", {k: result.stats[k] for k in keys})

    got: dict[tuple[str, str], float] = {}
    for f in result.findings:
        ref = f.discovered_key if f.discovered_key is not None else f"acct:{f.account_id}"
        got[(f.kind, ref)] = f.confidence
    print(f"\n{'kind':<18}{'planted':>8}{'found':>8}{'TP':>7}{'FP':>6}{'FN':>6}{'precision':>11}{'recall':>8}")
    tp_all = fp_all = fn_all = 0
    for kind in ("unregistered", "duplicate", "name_mismatch", "subject_mismatch", "closed_but_active", "reopened"):
        exp = {x for x in g.expected if x[0] == kind}
        fnd = {x for x in got if x[0] == kind}
        tp, fp, fn = len(exp & fnd), len(fnd - exp), len(exp - fnd)
        tp_all, fp_all, fn_all = tp_all + tp, fp_all + fp, fn_all + fn
        prec = tp / (tp + fp) if tp + fp else 1.0
        rec = tp / (tp + fn) if tp + fn else 1.0
        print(f"{kind:<18}{len(exp):>8}{len(fnd):>8}{tp:>7}{fp:>6}{fn:>6}{prec:>11.3f}{rec:>8.3f}")
        for x in sorted(fnd - exp)[:3]:
            ref = {(f.kind, f.discovered_key or f"acct:{f.account_id}"): f for f in result.findings}[x]
            print("     FP e.g.", ref.evidence.get("message"), ref.confidence)
        for x in sorted(exp - fnd)[:3]:
            print("     FN e.g.", x)
    prec = tp_all / (tp_all + fp_all) if tp_all + fp_all else 1.0
    rec = tp_all / (tp_all + fn_all) if tp_all + fn_all else 1.0
    print(f"{'overall':<18}{len(g.expected):>8}{len(got):>8}{tp_all:>7}{fp_all:>6}{fn_all:>6}{prec:>11.3f}{rec:>8.3f}")
    ok = elapsed <= 60 and peak_kb <= 2 * 1024 * 1024 and prec >= 0.95 and rec >= 0.95
    print(f"\ngoals (≤60 s, ≤2 GB, precision ≥0.95, recall ≥0.95): {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
