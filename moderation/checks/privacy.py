"""Personal data: resident ID numbers, bank cards, mobile and fixed-line numbers, home addresses.

The number checks run only on small windows around the places where the shared automaton pass
saw four digits in a row (full-width digits count: each window is folded first; every pattern below
holds a run of four).  Severity: a full ID or
bank card number blocks; phone numbers and addresses warn (offices publish their own phones).

A digit run that is part of a longer token — a letter touches it (“SF6538…”, “DD6215…”), it sits
in a URL path or query (“/art_1229_6242….html”, “?id=…”), or it ends in 号 like a serial number —
and a number labelled as a serial (订单号, 快递单号, 注册号, 许可证编号, 缴款码 …) is not a card, an
ID or a phone number; a personal label (身份证, 卡号, 账号, 手机 …) keeps it personal.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from operator import mul

from moderation.checks.base import BLOCK, WARN, Row, RowCheck, ScanContext
from moderation.checks.data import TRIGGER_DIGITS, TRIGGER_ROOM
from moderation.checks.normalize import fold, fold_char

_PROVINCE_CODES = (
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82 83"
)
_PROVINCES = frozenset(_PROVINCE_CODES.split())
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_WEIGHT_SUM = sum(_ID_WEIGHTS)
_ID_CHECK = "10X98765432"
_LUHN_DOUBLE = bytes.maketrans(b"0123456789", b"0246813579")
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

_WINDOW_CHARS = frozenset("0123456789０１２３４５６７８９ -－—()（）+＋xXｘＸ")
_WINDOW_RUN = re.compile("[" + re.escape("".join(sorted(_WINDOW_CHARS))) + "]*")
_MIN_DIGITS = 10  # the shortest number we look for: 0xx-xxxxxxx
_MIN_LONG_DIGITS = 15  # the shortest ID (15 digits) or card (16, _card_valid) we look for
_DIGIT_CHARS = frozenset("0123456789０１２３４５６７８９")
_DATE = r"(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
_ID18 = re.compile(rf"(?<![0-9a-z])[1-9][0-9]{{5}} ?(?:18|19|20)[0-9]{{2}}{_DATE} ?[0-9]{{3}}[0-9x](?![0-9a-z])")
_ID15 = re.compile(rf"(?<![0-9a-z])[1-9][0-9]{{5}}[0-9]{{2}}{_DATE}[0-9]{{3}}(?![0-9a-z])")
_ID18_SHAPE = re.compile(rf"[1-9][0-9]{{5}}(?:18|19|20)[0-9]{{2}}{_DATE}[0-9]{{3}}[0-9x]")
_CARD = re.compile(r"(?<![0-9])[3-69][0-9]{3}(?:[ \-]?[0-9]{3,4}){3,4}(?![0-9])")
_MOBILE = re.compile(r"(?<![0-9])(?:(?:\+|00)?86[ \-]?)?1[3-9][0-9](?P<sep>[ \-]?)[0-9]{4}(?P=sep)[0-9]{4}(?![0-9])")
_LANDLINE = re.compile(
    r"(?<![0-9])(?:[(（]0[0-9]{2,3}[)）][ \-]?|0[0-9]{2,3}[ \-－—]"
    r"|0(?:10|2[0-9])(?=[0-9]{8}(?![0-9]))|0[3-9][0-9]{2}(?=[0-9]{7,8}(?![0-9])))"
    r"[2-9][0-9]{6,7}(?![0-9])"
)
_NON_DIGIT = re.compile(r"[^0-9x]")
_AREA = re.compile(r"0(?:10|2[0-9]|[3-9][0-9]{2})")
# Characters joining a number to a neighbouring letter/digit into one token (URL paths, codes).
_JOINERS = frozenset("_/\\=&?#%.@~-")
_LABEL_BEFORE = re.compile(r"[\u4e00-\u9fa5a-zA-Z]{1,12}[ \t　:：（(]*$")  # as _label_before finds it
_LABEL_SEPARATORS = frozenset(" \t　:：（(")
_AFTER_NON_LETTER = re.compile(r"(?:.*[^\u4e00-\u9fa5a-zA-Z])?", re.DOTALL)  # ends after the last non-letter
_PERSONAL_LABEL = re.compile("身份|证件|公民|旧证|卡|账|户名|手机|电话|联系|姓名|本人|持有")
_SERIAL_LABEL = re.compile(
    "单号|订单|运单|流水|编号|编码|代码|注册号|备案号|许可证|权证号|批准|文号|凭证|回单|票据|发票|工单|"
    "受理号|办件|识别[码号]|缴款码|索引号|批次|案号|档案号|标识码|序号|准考证"
)
# Which patterns can match in a window of so many digits (and x): bit flags, by count.
_FIT_ID18, _FIT_CARD, _FIT_ID15, _FIT_MOBILE, _FIT_LANDLINE = 1, 2, 4, 8, 16
_FITS = tuple(
    (_FIT_ID18 if n >= 18 else 0)
    | (_FIT_CARD if n >= 16 else 0)
    | (_FIT_ID15 if n >= _MIN_LONG_DIGITS else 0)
    | (_FIT_MOBILE if n >= 11 else 0)
    | _FIT_LANDLINE
    for n in range(19)
)
_MSG_ID18 = "疑似身份证号码（校验位正确）"
_MSG_ID15 = "疑似15位身份证号码（出生日期有效）"
_MSG_CARD = "疑似银行卡号（Luhn校验通过）"
_MSG_MOBILE = "含手机号码，如非公开的办事电话请删除或脱敏"
_MSG_LANDLINE = "含固定电话号码，请确认为公开的办公电话"


def id18_valid(number: str) -> bool:
    """GB 11643: province prefix, a real birth date not in the future, and the check digit."""
    d = number.upper()
    if len(d) != 18 or not d[:17].isdigit() or d[:2] not in _PROVINCES:
        return False
    if not _birth_ok(int(d[6:10]), int(d[10:12]), int(d[12:14])):
        return False
    head = d[:17]
    if head.isascii():  # the digits' byte values at once: sum((b - 48) * w)
        total = sum(map(mul, head.encode(), _ID_WEIGHTS)) - 48 * _ID_WEIGHT_SUM
    else:
        total = sum(int(c) * w for c, w in zip(head, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == d[17]


def id15_valid(number: str) -> bool:
    if len(number) != 15 or not number.isdigit() or number[:2] not in _PROVINCES:
        return False
    return _birth_ok(1900 + int(number[6:8]), int(number[8:10]), int(number[10:12]))


def _birth_ok(y: int, m: int, d: int) -> bool:
    try:
        born = date(y, m, d)
    except ValueError:
        return False
    return y >= 1900 and born <= _today()


class _Today:
    date = date.min
    until = 0.0  # the time.time() at which ``date`` ends (next local midnight, at most an hour on)


def _today() -> date:
    """``date.today()``, asked once a day (it reads the time zone: microseconds on every call)."""
    now = time.time()
    if now >= _Today.until:
        today = date.today()
        midnight = datetime.combine(today + timedelta(days=1), datetime.min.time())
        _Today.date, _Today.until = today, min(midnight.timestamp(), now + 3600.0)
    return _Today.date


def luhn_valid(number: str) -> bool:
    if number.isascii() and number.isdigit():  # the same sum, on bytes: every other digit doubled by a table
        b = number.encode()
        total = sum(b[-1::-2]) + sum(b[-2::-2].translate(_LUHN_DOUBLE)) - 48 * len(b)
        return total % 10 == 0
    total = 0
    for i, ch in enumerate(reversed(number)):
        n = ord(ch) - 48
        if i & 1:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0


def uscc_valid(code: str) -> bool:
    """统一社会信用代码 (GB 32100) check character."""
    code = code.upper()
    if len(code) != 18 or any(c not in _USCC_CHARS for c in code):
        return False
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(code[:17], _USCC_WEIGHTS, strict=True))
    return _USCC_CHARS[(31 - total % 31) % 31] == code[17]


def _card_valid(d: str) -> bool:
    """16–19 digits, Luhn; an 18-digit ID-shaped number or a valid 统一社会信用代码 is not a card."""
    if not 16 <= len(d) <= 19 or not luhn_valid(d):
        return False
    return not (len(d) == 18 and (_ID18_SHAPE.fullmatch(d) or uscc_valid(d)))


def mask_id(d: str) -> str:
    return d[:3] + "*" * (len(d) - 7) + d[-4:]


def mask_card(d: str) -> str:
    return f"{d[:4]} **** **** {d[-4:]}"


def mask_mobile(d: str) -> str:
    d = d[-11:]
    return f"{d[:3]}****{d[-4:]}"


class PhoneIdCardCheck(RowCheck):
    """Resident IDs (18/15 digits), bank cards (Luhn), mobile numbers and landlines."""

    kind = "privacy"
    needs = (TRIGGER_DIGITS,)

    def rows(self, text: str, ctx: ScanContext) -> Iterator[Row]:
        triggers = ctx.terms(TRIGGER_DIGITS)
        n = len(text)
        done = -1
        for start, end, _entry in triggers:
            if start < done:
                continue
            ws, we = start, end
            while ws > 0 and text[ws - 1] in _WINDOW_CHARS:
                ws -= 1
            if we < n and text[we] in _WINDOW_CHARS:  # (mostly not: a date, and the regex call costs more)
                we = _WINDOW_RUN.match(text, we).end()  # type: ignore[union-attr]  # (* matches empty)
            done = we
            if we - ws >= _MIN_DIGITS:
                window = fold(text[ws:we])
                if window.isdigit():  # (folded window characters: only ASCII digits are digits)
                    found = _pure_window(window)
                    if found is not None:
                        if found:
                            s, e, severity, message, rule, suggestion = found
                            s += ws
                            e += ws
                            if not _serial(text, s, e):
                                yield (s, e, text[s:e], severity, message, rule, suggestion, None)
                        continue
                    fits = _FIT_LANDLINE
                else:
                    digits = len(_NON_DIGIT.sub("", window))
                    fits = _FITS[min(digits, 18)] if digits >= _MIN_DIGITS else 0
                if fits:
                    yield from self._window(text, window, ws, fits)

    @staticmethod
    def _window(text: str, window: str, offset: int, fits: int) -> Iterator[Row]:
        """The number patterns that ``fits`` (bit flags) names inside one window (a folded run of
        digits and separators)."""
        found: list[tuple[int, int, int, str, str, str, str]] = []  # prio, s, e, sev, msg, rule, sugg
        if fits & _FIT_ID18:
            for mm in _ID18.finditer(window):
                d = _NON_DIGIT.sub("", mm.group()).upper()
                if id18_valid(d):
                    found.append((0, mm.start(), mm.end(), BLOCK, _MSG_ID18, "privacy.id18", mask_id(d)))
        if fits & _FIT_CARD:
            for mm in _CARD.finditer(window):
                d = _NON_DIGIT.sub("", mm.group())
                if _card_valid(d):
                    found.append((1, mm.start(), mm.end(), BLOCK, _MSG_CARD, "privacy.bank_card", mask_card(d)))
        if fits & _FIT_ID15:
            for mm in _ID15.finditer(window):
                if id15_valid(mm.group()):
                    found.append((2, mm.start(), mm.end(), BLOCK, _MSG_ID15, "privacy.id15", mask_id(mm.group())))
        if fits & _FIT_MOBILE:
            for mm in _MOBILE.finditer(window):
                d = _NON_DIGIT.sub("", mm.group())
                found.append((3, mm.start(), mm.end(), WARN, _MSG_MOBILE, "privacy.mobile", mask_mobile(d)))
        if fits & _FIT_LANDLINE and "0" in window:  # (every landline has a 0 area code)
            for mm in _LANDLINE.finditer(window):
                d = _NON_DIGIT.sub("", mm.group())
                area = _AREA.match(d)
                masked = f"{area.group() if area else d[:4]}-****{d[-4:]}"
                found.append((4, mm.start(), mm.end(), WARN, _MSG_LANDLINE, "privacy.landline", masked))
        if not found:
            return
        if len(found) == 1:  # (the usual case: nothing to resolve)
            _prio, s, e, sev, msg, rule, sugg = found[0]
            s += offset
            e += offset
            if not _serial(text, s, e):
                yield (s, e, text[s:e], sev, msg, rule, sugg, None)
            return
        yield from _resolve(text, found, offset)


_MOBILE_SECOND = frozenset("3456789")
_CARD_FIRST = frozenset("34569")


def _pure_window(w: str) -> tuple[int, int, str, str, str, str] | tuple[()] | None:
    """What ``_window`` finds in a window of nothing but ASCII digits, without its regexes:
    (start, end, severity, message, rule, suggestion) of the one number spanning the whole window,
    () for none, or None when ``_window`` must look (a possible landline: 11–12 digits, 0 first).

    A pure-digit window is one token: every pattern can only match all of it, so the length says
    which pattern and a few characters whether it matches; the validators check the rest (a real
    birth date covers the regexes' year and date parts)."""
    n = len(w)
    if n == 18:  # an ID first (it wins an overlap), then a card
        if id18_valid(w):
            return (0, 18, BLOCK, _MSG_ID18, "privacy.id18", mask_id(w))
        if w[0] in _CARD_FIRST and _card_valid(w):
            return (0, 18, BLOCK, _MSG_CARD, "privacy.bank_card", mask_card(w))
        return ()
    if n in (16, 17, 19):
        if w[0] in _CARD_FIRST and _card_valid(w):
            return (0, n, BLOCK, _MSG_CARD, "privacy.bank_card", mask_card(w))
        return ()
    if n == 15:  # a 15-digit ID wins over 0086 + mobile
        if id15_valid(w):
            return (0, 15, BLOCK, _MSG_ID15, "privacy.id15", mask_id(w))
        if w.startswith("00861") and w[5] in _MOBILE_SECOND:
            return (0, 15, WARN, _MSG_MOBILE, "privacy.mobile", mask_mobile(w))
        return ()
    if n == 13:
        if w.startswith("861") and w[3] in _MOBILE_SECOND:
            return (0, 13, WARN, _MSG_MOBILE, "privacy.mobile", mask_mobile(w))
        return ()
    if n == 11 and w[0] == "1":  # a mobile (a landline starts with 0)
        if w[1] in _MOBILE_SECOND:
            return (0, 11, WARN, _MSG_MOBILE, "privacy.mobile", mask_mobile(w))
        return ()
    if n in (11, 12) and w[0] == "0":
        return None  # a landline: the regex
    return ()


def _resolve(text: str, found: list[tuple[int, int, int, str, str, str, str]], offset: int) -> list[Row]:
    """The numbers found in one window, serials left out, overlaps resolved by priority (IDs, then
    cards, 15-digit IDs, mobiles, landlines), in order of their start."""
    found = [h for h in found if not _serial(text, h[1] + offset, h[2] + offset)]
    found.sort()
    taken: list[tuple[int, int]] = []
    out: list[Row] = []
    for _prio, s, e, sev, msg, rule, sugg in found:
        if any(s < te and ts < e for ts, te in taken):
            continue
        taken.append((s, e))
        out.append((s + offset, e + offset, text[s + offset : e + offset], sev, msg, rule, sugg, None))
    out.sort(key=_start)
    return out


def _start(row: Row) -> int:
    return row[0]


def _serial(text: str, start: int, end: int) -> bool:
    """The number at text[start:end] is part of a longer token or labelled as a serial number."""
    n = len(text)
    if start > 0:
        before = fold_char(text[start - 1])
        if before.isascii() and before.isalpha():
            return True
        if before in _JOINERS and start > 1 and _alnum(text[start - 2]):
            return True
        if before == "〕":
            return True
    if end < n:
        after = fold_char(text[end])
        if after.isascii() and after.isalpha():
            return True
        if after in _JOINERS and end + 1 < n and _alnum(text[end + 1]):
            return True
        if after == "号" and not text.startswith("号码", end):
            return True
    label = _label_before(text, start)
    if label is None:
        return False
    return _PERSONAL_LABEL.search(label) is None and _SERIAL_LABEL.search(label) is not None


def _label_before(text: str, start: int) -> str | None:
    """The text of ``_LABEL_BEFORE.search(text, max(0, start - 16), start)`` without the regex
    (which tries every one of the 16 starts): the label is the run of up to 12 letters ending
    where the separators before ``start`` begin (``$`` may also match before a final newline)."""
    lo = max(0, start - 16)
    end = start - 1 if start > lo and text[start - 1] == "\n" else start
    q = end
    while q > lo and text[q - 1] in _LABEL_SEPARATORS:
        q -= 1
    p = _AFTER_NON_LETTER.match(text, max(lo, q - 12), q).end()  # type: ignore[union-attr]  # (matches empty)
    return text[p:end] if p < q else None


def _alnum(ch: str) -> bool:
    c = fold_char(ch)
    return c.isascii() and c.isalnum()


_ADDR_ROOM = re.compile(
    r"[0-9０-９]{1,5}(?:号院|号楼|号|栋|幢|座|弄)"
    r"(?:[0-9０-９a-zA-Zａ-ｚＡ-Ｚ]{1,6}(?:号院|号楼|号|栋|幢|座|单元|室|户|层|楼)){1,4}"
)
_ROOM_LEVEL = re.compile("室|单元|户|栋|幢|号楼")
_PLACE_RUN = re.compile(
    r"[\u4e00-\u9fa5]{1,30}?(?:路|街|道|巷|弄|胡同|里|村|组|小区|花园|家园|苑|公寓|大厦|社区|新村|园|城|庄|院|区)$"
)
_ADDR_LEAD = re.compile(r".*(?:住址|地址|家住|住在|居住在|居住于|现住|住于|位于|户籍地|户籍|是|在)")


class AddressCheck(RowCheck):
    """Detailed (home) addresses: a street or compound name followed by a building/room number."""

    kind = "privacy"
    needs = (TRIGGER_ROOM,)

    def rows(self, text: str, ctx: ScanContext) -> Iterator[Row]:
        triggers = ctx.terms(TRIGGER_ROOM)
        done = -1
        for t_start, _t_end, _entry in triggers:
            run_start = t_start
            while run_start > 0 and text[run_start - 1] in _DIGIT_CHARS:
                run_start -= 1
            if run_start < done:
                continue
            m = _ADDR_ROOM.match(text, run_start)
            if m is None or _ROOM_LEVEL.search(m.group()) is None:
                continue
            done = m.end()
            place = _PLACE_RUN.search(text, max(0, m.start() - 30), m.start())
            if place is None:
                continue
            start = place.start()
            lead = _ADDR_LEAD.match(text, start, m.start())
            if lead is not None and lead.end() < place.end() - 1:
                start = lead.end()
            end = m.end()
            yield (
                start,
                end,
                text[start:end],
                WARN,
                "疑似个人详细住址（具体到楼栋/门牌/房号），请删除或脱敏",
                "privacy.address",
                text[start : m.start()] + "****",
                None,
            )
