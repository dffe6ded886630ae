"""Reconciliation of discovered platform accounts against the registry (台账比对).

Pure functions over plain data: no database, no Flask. The DB layer turns rows into the frozen
dataclasses below, calls :func:`reconcile`, and upserts the returned findings by their
``fingerprint`` (stable across runs, so a re-run updates instead of duplicating).

Findings (``ReconFinding.kind``):

* ``closed_but_active`` 关停不彻底 — registry says closed, the platform still shows the account
  (posting after ``closed_on``, or merely still reachable: lower confidence).
* ``reopened`` 私自重开 — a closed account that was absent from the previous discovery run
  (``previously_seen``) is back.
* ``name_mismatch`` 名称不一致 — same (platform, uid), display name differs materially.
* ``subject_mismatch`` 主体不符 — 认证主体 on the platform is not the registered 主办单位.
* ``unregistered`` 未备案/体外运行 — a government-body account that is not in the registry.
* ``duplicate`` 重复开设 — a second live account of one unit on one platform (found either in
  the registry itself or among discovered accounts).

See docs/reconcile.md for the matching rules and the thresholds.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from time import perf_counter
from typing import Any, NamedTuple

from rapidfuzz import fuzz, process

__all__ = [
    "KINDS",
    "ReconFinding",
    "ReconRecord",
    "ReconResult",
    "RegisteredAccount",
    "Thresholds",
    "UnitRef",
    "is_government_subject",
    "normalise_name",
    "reconcile",
]

# Output order of findings (then by fingerprint).
KINDS = (
    "closed_but_active",
    "reopened",
    "unregistered",
    "duplicate",
    "subject_mismatch",
    "name_mismatch",
)
_KIND_ORDER = {k: i for i, k in enumerate(KINDS)}

KIND_LABELS = {
    "closed_but_active": "关停不彻底",
    "reopened": "私自重开",
    "unregistered": "未备案/体外运行",
    "duplicate": "重复开设",
    "subject_mismatch": "认证主体与主办单位不符",
    "name_mismatch": "名称不一致",
}


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UnitRef:
    """A unit (单位) of the org list. ``aliases``: other accepted names (short names, 挂牌名称)."""

    id: int
    name: str
    credit_code: str | None = None
    region: str | None = None
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RegisteredAccount:
    """An account in the registry (台账).

    ``duplicate_reason``: an approved reason for running more than one account of the unit on
    this platform (Account.duplicate_reason); such accounts never count as duplicates.
    """

    id: int
    platform: str
    uid: str
    name: str
    unit_id: int
    subject: str | None
    status: str
    region: str | None = None
    closed_on: date | None = None
    duplicate_reason: str | None = None


@dataclass(frozen=True, slots=True)
class ReconRecord:
    """One account as discovery saw it on a platform: the reconciliation's input.

    Built from a stored ``oversight.models.DiscoveredAccount`` (oversight/discovery.py), or directly
    by tests and benches: this module reads no database, so it has its own record type
    (``platforms.types.PlatformAccount`` is the platform-side record this is built from).

    ``key``: the caller's identifier of the record (e.g. the DiscoveredAccount id); echoed back.
    ``platform_status``: what the platform says about the account when known (``active``,
    ``banned``, ``deregistered``...); records in ``Thresholds.gone_platform_statuses`` are
    treated as not present on the platform.
    """

    key: str
    platform: str
    uid: str | None
    name: str
    subject: str | None
    verified: bool | None = None
    region: str | None = None
    last_post_at: datetime | None = None
    profile_url: str | None = None
    source: str = "search"
    platform_status: str | None = None


@dataclass(frozen=True, slots=True)
class ReconFinding:
    """One conclusion. ``evidence`` is JSON-serialisable; ``evidence["message"]`` is Chinese."""

    kind: str
    discovered_key: str | None
    account_id: int | None
    unit_id: int | None
    confidence: float
    evidence: dict[str, Any]
    fingerprint: str

    def __hash__(self) -> int:  # evidence is a dict; the fingerprint identifies the finding
        return hash((self.kind, self.fingerprint))


@dataclass(slots=True)
class ReconResult:
    findings: list[ReconFinding]
    matched: list[tuple[str, int]]  # (discovered key, account id) joined on (platform, uid)
    matched_by_name: list[tuple[str, int]]  # joined on (platform, normalised name); see docs
    stats: dict[str, Any] = field(default_factory=dict)

    def by_kind(self) -> dict[str, list[ReconFinding]]:
        out: dict[str, list[ReconFinding]] = {k: [] for k in KINDS}
        for f in self.findings:
            out.setdefault(f.kind, []).append(f)
        return out


@dataclass(frozen=True)
class Thresholds:
    """Every setting of the reconciliation. Scores are rapidfuzz 0–100 on normalised strings."""

    # Matched account: names whose similarity is below this are a name_mismatch.
    name_match: float = 88.0
    # Matched account: 认证主体 vs 主办单位 (name/aliases) below this is a subject_mismatch.
    subject_match: float = 90.0
    # Discovery: fuzzy lookup of a 认证主体 among the units (same place only), cut-off score.
    unit_lookup: float = 90.0
    # Discovery: if the two best fuzzy units are within this many points, the lookup is ambiguous.
    ambiguity_margin: float = 2.0
    # A post this many days after closed_on or later counts as "posting after closure".
    closed_grace_days: int = 0
    # Registry statuses that mean closed.
    closed_statuses: tuple[str, ...] = ("closed", "closed_on_platform")
    # Registry statuses that count as a running account for the duplicate checks.
    live_statuses: tuple[str, ...] = ("active", "changing", "suspended")
    # Registry statuses whose matched accounts get the name / subject checks.
    checked_statuses: tuple[str, ...] = ("applying", "active", "changing", "suspended", "closing")
    # Platform statuses of a discovered record that mean "not there any more".
    gone_platform_statuses: tuple[str, ...] = ("deregistered", "closed", "banned", "deleted")
    # Closed account merely reachable (no post after closure seen) → closed_but_active (low conf).
    flag_reachable_closed: bool = True
    # Government-looking 认证主体 in a region of ours but not resolvable to any unit →
    # unregistered with unit_id None and low confidence (the org list may be incomplete).
    report_unknown_units: bool = True
    # Non-government subjects (companies, individuals) whose account name equals a registered
    # account's name → unregistered with low confidence (仿冒 or 运维公司代认证). Off: precision.
    include_non_government: bool = False
    # Records without a 认证主体 whose name equals a registered account's name → unregistered,
    # low confidence. Off by default: fan and imitation accounts make this noisy.
    include_unverified: bool = False
    # Findings below this confidence are dropped.
    min_confidence: float = 0.0
    # Matched by uid: report *any* literal difference of the display name as a low-confidence
    # name_mismatch (0.35 when only decorative suffixes such as 在线/发布/官方 differ, else 0.45):
    # the ledger is out of date and a 变更 must be filed (DOMAIN.md R4/R20). The pure default is
    # off; the database layer (oversight.discovery.reconcile_thresholds) turns it on.
    literal_names: bool = False


# --------------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------------

_NON_WORD_RE = re.compile(r"[\W_]+")

# Longest first; applied in order. Maps long official forms to the common short forms.
_EQUIVALENCES = (
    ("中国共产主义青年团", "共青团"),
    ("中国人民政治协商会议", "政协"),
    ("人民代表大会常务委员会", "人大常委会"),
    ("中国共产党", "中共"),
    ("纪律检查委员会", "纪委"),
    ("管理委员会", "管委会"),
    ("街道办事处", "街道"),
    ("人民政府", "政府"),
    ("人民法院", "法院"),
    ("人民检察院", "检察院"),
    ("委员会", "委"),
    ("办公室", "办"),
)

# Suffixes that decorate account names; stripped repeatedly (longest first).
_NAME_SUFFIXES = tuple(
    sorted(
        (
            "官方微博",
            "官方微信",
            "官方抖音",
            "官方头条",
            "官方快手",
            "官方账号",
            "官方帐号",
            "微信公众号",
            "微信公众平台",
            "公众号",
            "服务号",
            "订阅号",
            "视频号",
            "头条号",
            "抖音号",
            "快手号",
            "微发布",
            "发布厅",
            "微政务",
            "官微",
            "官方",
            "微博",
            "微信",
            "头条",
            "抖音",
            "快手",
            "发布",
            "在线",
            "政务",
        ),
        key=len,
        reverse=True,
    )
)
_MIN_NAME_LEN = 2


@lru_cache(maxsize=1 << 16)
def _canon(s: str) -> str:
    """NFKC (full-width → half-width), case-fold, drop spaces/punctuation, apply equivalences."""
    s = _NON_WORD_RE.sub("", unicodedata.normalize("NFKC", s).casefold())
    for long, short in _EQUIVALENCES:
        if long in s:
            s = s.replace(long, short)
    return s


@lru_cache(maxsize=1 << 18)
def normalise_name(s: str) -> str:
    """Normalise an account name or a unit / 认证主体 name for comparison.

    Full-width → half-width (NFKC), case-folded, no whitespace or punctuation; official long
    forms → short forms (人民政府→政府, 中国共产党→中共, 委员会→委, 办公室→办, 街道办事处→街道 …);
    a leading 中共 dropped; decorative suffixes (发布, 在线, 微博, 官微, 公众号 …) stripped
    repeatedly while at least two characters remain. Place prefixes (省/市/县/区) are kept:
    they are compared structurally by the matcher.
    """
    s = _canon(s)
    if s.startswith("中共") and len(s) > 4:
        s = s[2:]
    return _strip_suffixes(s)


def _strip_suffixes(s: str) -> str:
    """Strip decorative suffixes repeatedly, keeping at least two characters. Overlapping
    suffixes (…官微发布 ends with both 发布 and 微发布) are all tried; every result is a prefix of
    ``s``, and the shortest one wins."""
    frontier, best = [s], s
    seen: set[str] = set()
    while frontier:
        nxt: list[str] = []
        for x in frontier:
            for suf in _NAME_SUFFIXES:
                if x.endswith(suf) and len(x) - len(suf) >= _MIN_NAME_LEN:
                    y = x[: -len(suf)]
                    if y not in seen:
                        seen.add(y)
                        nxt.append(y)
                        if len(y) < len(best):
                            best = y
        frontier = nxt
    return best


# Place chain parsing: "杭州市西湖区教育局" → (("杭州市", "西湖区"), "教育局").
_MULTI_MARKERS = ("特别行政区", "自治州", "自治县", "自治区", "自治旗", "街道")
_MARKER_CHARS = frozenset("省市州盟县区旗镇乡")
# Words that start a body at a marker character (XX市市场监督管理局, XX县乡村振兴局) …
_BODY_WORDS = frozenset(("市场", "市政", "市容", "市民", "市域", "区域", "县域", "乡村"))
# … and words whose second character is a marker (住房和城乡建设局; but 红城乡 is a town).
_MARKER_INSIDE_WORDS = ("城乡建设", "城乡规划", "城乡居民", "城乡社区", "城乡一体", "城乡统筹", "城乡环境", "城乡发展")
_STEM_STOP = frozenset("局委办部厅室处院所队")
_LEADING_ORGS = ("国家税务总局", "共青团", "政协", "中共")
_MAX_STEM = 4
_MAX_STEM_AUTONOMOUS = 10


def _marker_len(s: str, j: int) -> int:
    for m in _MULTI_MARKERS:
        if s.startswith(m, j):
            return len(m)
    return 1 if s[j] in _MARKER_CHARS else 0


@lru_cache(maxsize=1 << 18)
def _split_place(s: str) -> tuple[tuple[str, ...], str]:
    """Split a normalised name into its place chain and the rest (the body).

    A place component is a 1–4 character stem (longer for 自治州/自治县…) followed by a marker
    (省市州盟县区旗镇乡, 街道, 自治X); "XX市市场监督管理局" keeps 市场 in the body. A leading
    org prefix (国家税务总局, 共青团, 政协, 中共) is moved into the body.
    """
    lead = ""
    for p in _LEADING_ORGS:
        if s.startswith(p):
            lead, s = p, s[len(p) :]
            break
    chain: list[str] = []
    i, n = 0, len(s)
    while i < n - 1:
        if s[i : i + 2] in _BODY_WORDS:
            break
        end = 0
        for j in range(i + 1, min(n, i + 1 + _MAX_STEM_AUTONOMOUS)):
            if s[j] in _STEM_STOP:
                break
            m = _marker_len(s, j)
            if not m or (m == 1 and j - i > _MAX_STEM) or s.startswith(_MARKER_INSIDE_WORDS, j - 1):
                continue
            end = j + m
            while end < n and s[end] in _MARKER_CHARS and s[end : end + 2] not in _BODY_WORDS:
                end += 1
            break
        if not end:
            break
        chain.append(s[i:end])
        i = end
    return tuple(chain), lead + s[i:]


def _chains_compatible(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """One place chain is a suffix of the other (杭州市·西湖区 ~ 西湖区)."""
    if len(a) < len(b):
        a, b = b, a
    return not b or a[len(a) - len(b) :] == b


def _regions_compatible(a: str | None, b: str | None) -> bool:
    """Region hints agree: one contains the other (浙江 ⊂ 浙江省杭州市西湖区; 西湖区 ⊂ …)."""
    if not a or not b:
        return True
    if len(a) < len(b):
        a, b = b, a
    return len(b) >= 2 and b in a


_ADMIN_DROP_RE = re.compile(r"(?<=\w\w)[省市县区旗]")


def _name_score(a_raw: str, b_raw: str) -> float:
    """Similarity of two account names (0–100) after normalisation.

    A dropped or changed level character (西湖区发布 / 西湖发布) scores at least 95.
    """
    a, b = normalise_name(a_raw), normalise_name(b_raw)
    if a == b:
        return 100.0
    score = fuzz.ratio(a, b)
    la, lb = _ADMIN_DROP_RE.sub("", a), _ADMIN_DROP_RE.sub("", b)
    if la == lb:
        return max(score, 95.0)
    return max(score, fuzz.ratio(la, lb))


# --------------------------------------------------------------------------------------------
# Government subject classification
# --------------------------------------------------------------------------------------------

# Checked first: 群团 bodies that contain words of the non-government list.
_GOV_OVERRIDE_RE = re.compile("科学技术协会|科协|计划生育协会|红十字会|工商业联合会|工商联")
_NON_GOV_RE = re.compile(
    "公司|有限|股份|集团|工作室|商行|商店|门市|经营部|个体|事务所|合作社|酒店|宾馆|超市|俱乐部"
    "|协会|商会|学会|研究会|促进会|联谊会|基金会|联盟|银行|支行|分行|保险|证券|传媒|文化传播"
    "|广告|电子商务|培训学校|民办|诊所|药店|药房|美容|健身|摄影|装饰|置业|地产|物业|旅行社"
    "|餐饮|饭店|网店|旗舰店|专卖店"
)
_GOV_END_RE = re.compile(
    "(?:政府|办|办公厅|局|厅|委|会|部|署|办事处|街道|法院|检察院|所|队|管委会|党委|党工委|党组"
    "|中心|站|馆|院|台|镇|乡|学校|中学|小学|幼儿园|妇联|总工会|工会|残联|科协|团委|政协|监狱"
    "|分局|海关|关|处|室|科|大队|支队)$"
)
_NATIONAL_PREFIXES = ("国家", "中华人民共和国", "国务院", "中共中央", "中央", "全国", "最高人民")


@lru_cache(maxsize=1 << 17)
def is_government_subject(subject: str | None) -> bool:
    """True when a 认证主体 looks like an administrative organ, a Party organ, a 群团 body or a
    public institution (事业单位: 中心/站/馆/院/学校 …) rather than a company or an individual.

    Rules: known 群团 names win; any company / commercial / social-organisation word loses;
    otherwise the name must start with a place (XX省/市/县/区/镇/街道…), a Party or 群团 prefix
    (中共, 共青团, 政协) or a national prefix, and end with an organ or institution word.
    """
    if not subject:
        return False
    s = _canon(subject)
    if len(s) < 3:
        return False
    if _GOV_OVERRIDE_RE.search(s):
        return True
    if _NON_GOV_RE.search(s):
        return False
    if not _GOV_END_RE.search(s):
        return False
    if s.startswith(_NATIONAL_PREFIXES) or s.startswith(_LEADING_ORGS):
        return True
    if s.endswith("部") and "委" not in s and not s.endswith("武装部"):
        return False  # 销售部/项目部: company departments; Party departments read XX县委宣传部
    chain, body = _split_place(s)
    return bool(chain) and (bool(body) or chain[-1].endswith(("镇", "乡", "街道")))


# --------------------------------------------------------------------------------------------
# Unit index (认证主体 → unit)
# --------------------------------------------------------------------------------------------


class _Resolution(NamedTuple):
    unit_id: int | None  # None when ambiguous
    method: str  # exact | place_variant | fuzzy | ambiguous
    score: float
    candidates: tuple[int, ...]
    region_ok: bool


class _UnitIndex:
    def __init__(self, units: Iterable[UnitRef], thresholds: Thresholds) -> None:
        self.t = thresholds
        self.units: dict[int, UnitRef] = {}
        self.keys: dict[int, list[tuple[str, tuple[str, ...], str]]] = {}
        self.full: dict[str, list[int]] = {}
        self.by_last_body: dict[tuple[str, str], list[tuple[int, tuple[str, ...]]]] = {}
        self.block: dict[str, list[tuple[str, int, tuple[str, ...]]]] = {}
        self.regions: set[str] = set()
        self._chain_in_region: dict[tuple[str, ...], bool] = {}  # in_our_region, per place chain
        self._cache: dict[tuple[str, str | None], _Resolution | None] = {}
        for u in sorted(units, key=lambda u: u.id):
            self.units[u.id] = u
            if u.region:
                self.regions.add(u.region)
            keys: list[tuple[str, tuple[str, ...], str]] = []
            for raw in (u.name, *u.aliases):
                k = normalise_name(raw)
                if not k or any(k == x[0] for x in keys):
                    continue
                chain, body = _split_place(k)
                keys.append((k, chain, body))
                self.full.setdefault(k, []).append(u.id)
                if chain:
                    self.by_last_body.setdefault((chain[-1], body), []).append((u.id, chain))
                    if body:
                        self.block.setdefault(chain[-1], []).append((body, u.id, chain))
            self.keys[u.id] = keys

    def _region_ok(self, unit_id: int, region: str | None) -> bool:
        return _regions_compatible(self.units[unit_id].region, region)

    def in_our_region(self, subject: str, region: str | None) -> bool:
        """The record's region is one of ours, or (platform searches give no region) the
        subject's own places are one of our regions, down to where it ends (示范县市场监督管理局
        in 示范县; 西湖区水利局 in 浙江省杭州市西湖区, but not 杭州市水利局 or 宁波市西湖区水利局)."""
        if region:
            return region in self.regions
        chain, _ = _split_place(normalise_name(subject))
        if not chain:
            return False
        # Far fewer distinct chains than records: scan the regions once per chain, not per record.
        known = self._chain_in_region.get(chain)
        if known is None:
            known = self._chain_in_region[chain] = any(
                r.endswith(chain[-1]) and all(c in r for c in chain) for r in self.regions
            )
        return known

    def _fits(self, chain: tuple[str, ...], unit_id: int, unit_chain: tuple[str, ...], region: str | None) -> bool:
        """A place-variant or fuzzy candidate: compatible chains, region hint agrees, and the
        subject's extra place components (长春市 in 长春市朝阳区…) appear in the unit's region."""
        if not _chains_compatible(chain, unit_chain):
            return False
        unit_region = self.units[unit_id].region
        if not _regions_compatible(unit_region, region):
            return False
        if unit_region and len(chain) > len(unit_chain):
            return all(c in unit_region for c in chain[: len(chain) - len(unit_chain)])
        return True

    def resolve(self, subject: str, region: str | None) -> _Resolution | None:
        ck = (subject, region)
        if ck in self._cache:
            return self._cache[ck]
        res = self._resolve(normalise_name(subject), region)
        self._cache[ck] = res
        return res

    def _resolve(self, s: str, region: str | None) -> _Resolution | None:
        ids = self.full.get(s)
        if ids:
            uniq = sorted(set(ids))
            if len(uniq) == 1:
                return _Resolution(uniq[0], "exact", 100.0, (uniq[0],), self._region_ok(uniq[0], region))
            in_region = [i for i in uniq if self._region_ok(i, region)]
            if len(in_region) == 1:
                return _Resolution(in_region[0], "exact", 100.0, tuple(uniq), True)
            return _Resolution(None, "ambiguous", 100.0, tuple(uniq), True)
        chain, body = _split_place(s)
        if not chain:
            return None
        last = chain[-1]
        variants = sorted(
            {uid for uid, c in self.by_last_body.get((last, body), ()) if self._fits(chain, uid, c, region)}
        )
        if len(variants) == 1:
            return _Resolution(variants[0], "place_variant", 97.0, tuple(variants), True)
        if len(variants) > 1:
            return _Resolution(None, "ambiguous", 97.0, tuple(variants), True)
        if len(body) < 2:
            return None
        entries = [(b, uid) for b, uid, c in self.block.get(last, ()) if self._fits(chain, uid, c, region)]
        if not entries:
            return None
        hits = process.extract(
            body,
            [b for b, _ in entries],
            scorer=fuzz.ratio,
            score_cutoff=self.t.unit_lookup,
            limit=4,
        )
        if not hits:
            return None
        # Best score first, then lowest unit id: deterministic.
        ranked = sorted(((-score, entries[idx][1]) for _, score, idx in hits))
        best_score, best_uid = -ranked[0][0], ranked[0][1]
        others = [u for sc, u in ranked if u != best_uid and best_score - (-sc) <= self.t.ambiguity_margin]
        if others:
            return _Resolution(None, "ambiguous", best_score, (best_uid, *others), True)
        return _Resolution(best_uid, "fuzzy", float(best_score), (best_uid,), True)

    def subject_fit(self, subject: str, unit_id: int) -> tuple[float, bool]:
        """(score, place_differs) of a 认证主体 against one unit's name and aliases.

        Same place (compatible chains): 100 exact, 97 when only the place prefix differs
        (杭州市西湖区教育局 ~ 西湖区教育局), else the ratio of the bodies. When every key names a
        different place, place_differs is True and the score is the plain ratio.
        """
        s = normalise_name(subject)
        keys = self.keys.get(unit_id, ())
        if any(s == k for k, _, _ in keys):
            return 100.0, False
        chain, body = _split_place(s)
        same_place: list[float] = []
        other_place: list[float] = []
        for k, kchain, kbody in keys:
            if chain and kchain:
                if chain[-1] == kchain[-1] and self._fits(chain, unit_id, kchain, None):
                    same_place.append(97.0 if body == kbody else float(fuzz.ratio(body, kbody)))
                else:
                    other_place.append(float(fuzz.ratio(s, k)))
            else:
                same_place.append(float(fuzz.ratio(s, k)))
        if same_place:
            return max(same_place), False
        return max(other_place, default=0.0), True


# --------------------------------------------------------------------------------------------
# Reconciliation
# --------------------------------------------------------------------------------------------


def _fingerprint(
    kind: str, platform: str, *, uid: str | None = None, name: str | None = None, account_id: int | None = None
) -> str:
    parts = [kind, platform]
    if uid:
        parts.append(f"uid={uid}")
    elif name is not None:
        parts.append(f"name={normalise_name(name)}")
    if account_id is not None:
        parts.append(f"account={account_id}")
    fp = ":".join(parts)
    if len(fp) > 200:
        fp = f"{kind}:{platform}:sha256={hashlib.sha256(fp.encode()).hexdigest()[:40]}"
    return fp


def _iso(v: date | datetime | None) -> str | None:
    return v.isoformat() if v is not None else None


def _acct_brief(a: RegisteredAccount) -> dict[str, Any]:
    return {"id": a.id, "uid": a.uid, "name": a.name, "status": a.status}


class _Reconciler:
    def __init__(
        self,
        units: Iterable[UnitRef],
        registered: Iterable[RegisteredAccount],
        thresholds: Thresholds,
        previously_seen: Collection[tuple[str, str]] | None,
    ) -> None:
        self.t = thresholds
        if previously_seen is not None and not isinstance(previously_seen, (set, frozenset, dict)):
            previously_seen = frozenset(previously_seen)
        self.previously_seen = previously_seen
        self.units = _UnitIndex(units, thresholds)
        self.findings: dict[str, ReconFinding] = {}
        self.collapsed = 0
        self.registered = sorted(registered, key=lambda a: a.id)
        self.by_uid: dict[tuple[str, str], RegisteredAccount] = {}
        self.live_by_unit_platform: dict[tuple[int, str], list[RegisteredAccount]] = {}
        self.any_by_unit_platform: dict[tuple[int, str], list[RegisteredAccount]] = {}
        self.by_unit: dict[int, list[RegisteredAccount]] = {}
        live = frozenset(thresholds.live_statuses)
        for a in self.registered:
            if a.uid:
                self.by_uid.setdefault((a.platform, a.uid), a)
            self.any_by_unit_platform.setdefault((a.unit_id, a.platform), []).append(a)
            self.by_unit.setdefault(a.unit_id, []).append(a)
            if a.status in live:
                self.live_by_unit_platform.setdefault((a.unit_id, a.platform), []).append(a)
        self.has_uidless = any(not a.uid for a in self.registered)
        self._name_index: dict[tuple[str, str], list[RegisteredAccount]] | None = None
        self._subject_cache: dict[tuple[str, int], tuple[float, bool]] = {}
        self.seen_account_ids: set[int] = set()

    # ---------------------------------------------------------------- helpers

    def add(
        self,
        kind: str,
        fp: str,
        confidence: float,
        evidence: dict[str, Any],
        *,
        discovered_key: str | None = None,
        account_id: int | None = None,
        unit_id: int | None = None,
    ) -> None:
        confidence = round(min(1.0, max(0.0, confidence)), 3)
        if confidence < self.t.min_confidence:
            return
        evidence.setdefault("kind_label", KIND_LABELS[kind])
        f = ReconFinding(kind, discovered_key, account_id, unit_id, confidence, evidence, fp)
        old = self.findings.get(fp)
        if old is not None:
            self.collapsed += 1
            if (-old.confidence, old.discovered_key or "") <= (-f.confidence, f.discovered_key or ""):
                return
        self.findings[fp] = f

    def name_index(self) -> dict[tuple[str, str], list[RegisteredAccount]]:
        if self._name_index is None:
            idx: dict[tuple[str, str], list[RegisteredAccount]] = {}
            for a in self.registered:
                idx.setdefault((a.platform, normalise_name(a.name)), []).append(a)
            self._name_index = idx
        return self._name_index

    def unit_name(self, unit_id: int) -> str | None:
        u = self.units.units.get(unit_id)
        return u.name if u else None

    @staticmethod
    def record_evidence(r: ReconRecord) -> dict[str, Any]:
        return {
            "platform": r.platform,
            "uid": r.uid,
            "name": r.name,
            "subject": r.subject,
            "verified": r.verified,
            "region": r.region,
            "last_post_at": _iso(r.last_post_at),
            "profile_url": r.profile_url,
            "source": r.source,
        }

    # ---------------------------------------------------------------- phase 1 checks

    def check_matched(self, r: ReconRecord, a: RegisteredAccount, factor: float, how: str) -> None:
        t = self.t
        gone = r.platform_status is not None and r.platform_status in t.gone_platform_statuses
        if a.status in t.closed_statuses:
            if not gone:
                self.check_closed(r, a, factor, how)
            return
        if a.status not in t.checked_statuses or gone:
            return
        fp_kw: dict[str, Any] = {"uid": a.uid or r.uid, "name": r.name, "account_id": a.id}
        if r.name != a.name:
            score = _name_score(r.name, a.name)
            if score < t.name_match:
                conf = (0.5 + 0.5 * (t.name_match - score) / t.name_match) * factor
                self.add(
                    "name_mismatch",
                    _fingerprint("name_mismatch", a.platform, **fp_kw),
                    conf,
                    {
                        "message": f"平台显示名称「{r.name}」与台账登记名称「{a.name}」不一致",
                        "registered_name": a.name,
                        "platform_name": r.name,
                        "score": round(score, 1),
                        "threshold": t.name_match,
                        "matched_by": how,
                        **self.record_evidence(r),
                    },
                    discovered_key=r.key,
                    account_id=a.id,
                    unit_id=a.unit_id,
                )
            elif t.literal_names:
                decorative = normalise_name(r.name) == normalise_name(a.name)
                self.add(
                    "name_mismatch",
                    _fingerprint("name_mismatch", a.platform, **fp_kw),
                    (0.35 if decorative else 0.45) * factor,
                    {
                        "message": f"平台显示名称「{r.name}」与台账登记名称「{a.name}」字面不一致"
                        + ("（仅修饰性后缀不同）" if decorative else "（名称相近）")
                        + "，台账应办理名称变更",
                        "registered_name": a.name,
                        "platform_name": r.name,
                        "score": round(score, 1),
                        "threshold": t.name_match,
                        "literal_only": True,
                        "decorative_only": decorative,
                        "matched_by": how,
                        **self.record_evidence(r),
                    },
                    discovered_key=r.key,
                    account_id=a.id,
                    unit_id=a.unit_id,
                )
        subject, source = r.subject, "platform"
        if subject is None and a.subject:
            subject, source = a.subject, "registry"
        unit_name = self.unit_name(a.unit_id)
        if subject and unit_name is not None and subject != unit_name:
            ck = (subject, a.unit_id)
            fit = self._subject_cache.get(ck)
            if fit is None:
                fit = self.units.subject_fit(subject, a.unit_id)
                self._subject_cache[ck] = fit
            score, place_differs = fit
            if place_differs or score < t.subject_match:
                gov = is_government_subject(subject)
                other = self.units.resolve(subject, r.region)
                other_id = other.unit_id if other is not None and other.unit_id != a.unit_id else None
                if not gov or other_id is not None:
                    conf = 0.95
                elif place_differs:
                    conf = 0.8
                else:
                    conf = 0.5 + 0.5 * (t.subject_match - min(score, t.subject_match)) / t.subject_match
                if source == "registry":
                    conf *= 0.9
                other_unit = self.units.units.get(other_id) if other_id is not None else None
                self.add(
                    "subject_mismatch",
                    _fingerprint("subject_mismatch", a.platform, **fp_kw),
                    conf * factor,
                    {
                        "message": f"认证主体「{subject}」与主办单位「{unit_name}」不符",
                        "subject": subject,
                        "subject_source": source,
                        "unit_name": unit_name,
                        "registered_subject": a.subject,
                        "score": round(score, 1),
                        "place_differs": place_differs,
                        "threshold": t.subject_match,
                        "subject_is_government": gov,
                        "subject_unit_id": other_id,
                        "subject_unit_name": other_unit.name if other_unit else None,
                        "matched_by": how,
                        "account_name": a.name,
                        "platform": a.platform,
                        "uid": a.uid or r.uid,
                        "discovered_subject": r.subject,
                    },
                    discovered_key=r.key,
                    account_id=a.id,
                    unit_id=a.unit_id,
                )

    def check_closed(self, r: ReconRecord, a: RegisteredAccount, factor: float, how: str) -> None:
        t = self.t
        posted_after = (
            a.closed_on is not None
            and r.last_post_at is not None
            and r.last_post_at.date() > a.closed_on + timedelta(days=t.closed_grace_days)
        )
        evidence: dict[str, Any] = {
            "registered_status": a.status,
            "closed_on": _iso(a.closed_on),
            "posted_after_closure": posted_after,
            "account_name": a.name,
            "matched_by": how,
            **self.record_evidence(r),
        }
        uid = a.uid or r.uid
        if self.previously_seen is not None and (a.platform, uid) not in self.previously_seen:
            evidence["previously_seen"] = False
            evidence["message"] = f"已关停账号「{a.name}」上次检测时已不在平台，本次重新出现" + (
                "且关停后仍有发布" if posted_after else ""
            )
            self.add(
                "reopened",
                _fingerprint("reopened", a.platform, uid=uid, name=r.name, account_id=a.id),
                (0.9 if posted_after else 0.75) * factor,
                evidence,
                discovered_key=r.key,
                account_id=a.id,
                unit_id=a.unit_id,
            )
            return
        if posted_after:
            evidence["message"] = (
                f"账号「{a.name}」台账已关停（{_iso(a.closed_on)}），平台上{_iso(r.last_post_at)}仍有发布"
            )
            conf = 1.0
        elif t.flag_reachable_closed:
            evidence["message"] = f"账号「{a.name}」台账已关停，平台上仍可检索到"
            conf = 0.6
        else:
            return
        self.add(
            "closed_but_active",
            _fingerprint("closed_but_active", a.platform, uid=uid, name=r.name, account_id=a.id),
            conf * factor,
            evidence,
            discovered_key=r.key,
            account_id=a.id,
            unit_id=a.unit_id,
        )

    # ---------------------------------------------------------------- phase 2

    def check_unmatched(self, r: ReconRecord, stats: dict[str, int]) -> None:
        t = self.t
        if r.platform_status is not None and r.platform_status in t.gone_platform_statuses:
            stats["unmatched_gone"] += 1
            return
        # Name join: records without uid, or registry accounts without uid.
        cands: Iterable[RegisteredAccount] = ()
        if r.uid is None or self.has_uidless:
            cands = self.name_index().get((r.platform, normalise_name(r.name)), ())
        if cands:
            pool = cands if r.uid is None else [a for a in cands if not a.uid]
            pool = [a for a in pool if _regions_compatible(a.region, r.region)]
            if len(pool) == 1:
                a = pool[0]
                self.matched_by_name.append((r.key, a.id))
                self.seen_account_ids.add(a.id)
                stats["matched_by_name"] += 1
                self.check_matched(r, a, 0.8, "name")
                return
        subject = r.subject
        if not subject or not is_government_subject(subject):
            if subject:
                stats["unmatched_non_government"] += 1
                if t.include_non_government:
                    self.imitation(r, "non_government")
            else:
                stats["unmatched_no_subject"] += 1
                if t.include_unverified:
                    self.imitation(r, "no_subject")
            return
        stats["unmatched_government"] += 1
        res = self.units.resolve(subject, r.region)
        if res is not None and res.unit_id is None:
            res = self.tiebreak_by_name(res, r)
        if res is None or res.unit_id is None:
            stats["unresolved_government"] += 1
            # Ambiguous among our units, or unknown but located in one of our regions.
            if t.report_unknown_units and (res is not None or self.units.in_our_region(subject, r.region)):
                unit_cands = [self.units.units[i] for i in (res.candidates if res else ())][:5]
                self.add(
                    "unregistered",
                    _fingerprint("unregistered", r.platform, uid=r.uid, name=r.name),
                    0.4 if res is None else 0.5,
                    {
                        "message": f"发现政务账号「{r.name}」（认证主体「{subject}」）未在台账中，"
                        + ("认证主体可对应多个单位，请人工确认" if res else "且认证主体不在单位名录中"),
                        "unit_resolution": res.method if res else "none",
                        "candidate_units": [
                            {
                                "id": u.id,
                                "name": u.name,
                                "region": u.region,
                                "registered_on_platform": [
                                    _acct_brief(a) for a in self.any_by_unit_platform.get((u.id, r.platform), ())[:5]
                                ],
                            }
                            for u in unit_cands
                        ],
                        **self.record_evidence(r),
                    },
                    discovered_key=r.key,
                )
            return
        unit = self.units.units[res.unit_id]
        base = {"exact": 0.95, "place_variant": 0.9, "name_tiebreak": 0.7}.get(res.method, 0.9 * res.score / 100.0)
        if not res.region_ok:
            base *= 0.6
        if r.verified is False:
            base *= 0.7
        elif r.verified is None:
            base *= 0.9
        unit_ev = {
            "unit_name": unit.name,
            "unit_region": unit.region,
            "unit_resolution": res.method,
            "unit_score": round(res.score, 1),
            "region_consistent": res.region_ok,
        }
        live = [a for a in self.live_by_unit_platform.get((unit.id, r.platform), ()) if not a.duplicate_reason]
        if live:
            first = live[0]
            same_name = [a.id for a in live if _name_score(a.name, r.name) >= t.name_match]
            conf = base * (0.7 if same_name else 0.95)
            msg = f"单位「{unit.name}」在该平台已有备案账号「{first.name}」，又发现账号「{r.name}」"
            if same_name:
                msg += "（名称相同，也可能是台账登记的平台ID有误）"
            self.add(
                "duplicate",
                _fingerprint("duplicate", r.platform, uid=r.uid, name=r.name),
                conf,
                {
                    "message": msg,
                    "registered_accounts": [
                        {**_acct_brief(a), "seen_this_run": a.id in self.seen_account_ids} for a in live[:10]
                    ],
                    "same_name_account_ids": same_name,
                    "source_of_duplicate": "discovery",
                    **unit_ev,
                    **self.record_evidence(r),
                },
                discovered_key=r.key,
                account_id=first.id,
                unit_id=unit.id,
            )
            return
        others = self.any_by_unit_platform.get((unit.id, r.platform), ())
        self.add(
            "unregistered",
            _fingerprint("unregistered", r.platform, uid=r.uid, name=r.name),
            base,
            {
                "message": f"发现单位「{unit.name}」的账号「{r.name}」未在台账备案（体外运行）",
                "registered_on_platform": [_acct_brief(a) for a in others[:10]],
                **unit_ev,
                **self.record_evidence(r),
            },
            discovered_key=r.key,
            unit_id=unit.id,
        )

    def tiebreak_by_name(self, res: _Resolution, r: ReconRecord) -> _Resolution:
        """An ambiguous 认证主体 (转塘街道办事处 in two districts): keep the one candidate unit whose
        registered accounts (any platform) carry the record's name, if exactly one does."""
        t = self.t
        hits = [
            u
            for u in res.candidates
            if any(_name_score(a.name, r.name) >= t.name_match for a in self.by_unit.get(u, ()))
        ]
        if len(hits) == 1:
            return _Resolution(hits[0], "name_tiebreak", res.score, res.candidates, True)
        return res

    def imitation(self, r: ReconRecord, why: str) -> None:
        cands = self.name_index().get((r.platform, normalise_name(r.name)), ())
        same = [a for a in cands if _regions_compatible(a.region, r.region)]
        if not same:
            return
        a = same[0]
        self.add(
            "unregistered",
            _fingerprint("unregistered", r.platform, uid=r.uid, name=r.name),
            0.3 if why == "non_government" else 0.25,
            {
                "message": f"账号「{r.name}」与已备案账号「{a.name}」同名，但认证主体"
                + (f"「{r.subject}」非政务机构" if r.subject else "缺失")
                + "，疑似仿冒或由运维公司代为认证",
                "reason": why,
                "same_name_account": _acct_brief(a),
                **self.record_evidence(r),
            },
            discovered_key=r.key,
            unit_id=a.unit_id,
        )

    # ---------------------------------------------------------------- registry-internal

    def registry_duplicates(self) -> int:
        n = 0
        for (unit_id, platform), accts in self.live_by_unit_platform.items():
            plain = [a for a in accts if not a.duplicate_reason]
            if len(plain) < 2:
                continue
            primary = plain[0]
            unit_name = self.unit_name(unit_id) or str(unit_id)
            for a in plain[1:]:
                n += 1
                self.add(
                    "duplicate",
                    _fingerprint("duplicate", platform, account_id=a.id),
                    1.0,
                    {
                        "message": f"单位「{unit_name}」在同一平台登记了{len(plain)}个运行中账号",
                        "platform": platform,
                        "unit_name": unit_name,
                        "primary_account": _acct_brief(primary),
                        "accounts": [_acct_brief(x) for x in plain[:10]],
                        "source_of_duplicate": "registry",
                    },
                    account_id=a.id,
                    unit_id=unit_id,
                )
        return n

    # ---------------------------------------------------------------- driver

    def run(self, discovered: Iterable[ReconRecord]) -> ReconResult:
        t0 = perf_counter()
        t = self.t
        closed = frozenset(t.closed_statuses)
        checked = frozenset(t.checked_statuses)
        get = self.by_uid.get
        unit_names = {uid: u.name for uid, u in self.units.units.items()}
        unit_name_get = unit_names.get
        matched: list[tuple[str, int]] = []
        m_append = matched.append
        self.matched_by_name: list[tuple[str, int]] = []
        unmatched: list[ReconRecord] = []
        u_append = unmatched.append
        seen_add = self.seen_account_ids.add
        check = self.check_matched
        n_disc = 0
        for r in discovered:
            n_disc += 1
            uid = r.uid
            a = get((r.platform, uid)) if uid else None
            if a is None:
                u_append(r)
                continue
            m_append((r.key, a.id))
            seen_add(a.id)
            st = a.status
            # Fast path: a live account whose name and 认证主体 are literally the registered ones.
            if st in closed or (
                st in checked
                and (r.name != a.name or (r.subject or a.subject or "") not in ("", unit_name_get(a.unit_id)))
            ):
                check(r, a, 1.0, "uid")
        t1 = perf_counter()
        stats: dict[str, int] = dict.fromkeys(
            (
                "matched_by_name",
                "unmatched_gone",
                "unmatched_government",
                "unresolved_government",
                "unmatched_non_government",
                "unmatched_no_subject",
            ),
            0,
        )
        for r in unmatched:
            self.check_unmatched(r, stats)
        t2 = perf_counter()
        reg_dups = self.registry_duplicates()
        findings = sorted(self.findings.values(), key=lambda f: (_KIND_ORDER[f.kind], f.fingerprint))
        t3 = perf_counter()
        counts = dict.fromkeys(KINDS, 0)
        for f in findings:
            counts[f.kind] += 1
        return ReconResult(
            findings=findings,
            matched=matched,
            matched_by_name=self.matched_by_name,
            stats={
                "units": len(self.units.units),
                "registered": len(self.registered),
                "discovered": n_disc,
                "matched_by_uid": len(matched),
                "unmatched": len(unmatched) - stats["matched_by_name"],
                **stats,
                "registry_duplicates": reg_dups,
                "findings": len(findings),
                "findings_by_kind": counts,
                "collapsed_same_fingerprint": self.collapsed,
                "seconds": {
                    "exact_phase": round(t1 - t0, 3),
                    "fuzzy_phase": round(t2 - t1, 3),
                    "registry_and_sort": round(t3 - t2, 3),
                },
            },
        )


def reconcile(
    units: Iterable[UnitRef],
    registered: Iterable[RegisteredAccount],
    discovered: Iterable[ReconRecord],
    thresholds: Thresholds = Thresholds(),
    *,
    previously_seen: Collection[tuple[str, str]] | None = None,
) -> ReconResult:
    """Reconcile discovered accounts against the registry.

    ``previously_seen``: (platform, uid) pairs present in the previous discovery run. Only
    consulted for accounts closed in the registry: a closed account found now but absent then is
    ``reopened``; with ``None`` (no history) ``reopened`` is never reported. It is enough to pass
    the pairs of closed accounts.

    Deterministic: the same input gives the same findings in the same order (kind, then
    fingerprint), independent of the order of the inputs.
    """
    rec = _Reconciler(units, registered, thresholds, previously_seen)
    return rec.run(discovered)
