"""Pure tests of moderation.checks: true positives and near misses for every check."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from moderation.checks import (
    BLOCK,
    WARN,
    Check,
    CheckFinding,
    CheckPipeline,
    DataFileError,
    Hit,
    Lexicon,
    SensitiveTermCheck,
    default_pipeline,
    has_blocking,
    id18_valid,
    luhn_valid,
    make_finding,
    reset_default_pipeline,
)
from moderation.checks.data import _parse_leaders
from moderation.checks.normalize import encode, fold

# ---------------------------------------------------------------- helpers


def make_id(prefix17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(c) * w for c, w in zip(prefix17, weights, strict=True))
    return prefix17 + "10X98765432"[total % 11]


def make_luhn(prefix: str) -> str:
    """Append the Luhn check digit."""
    for d in "0123456789":
        if luhn_valid(prefix + d):
            return prefix + d
    raise AssertionError("unreachable")


def wrong_luhn(prefix: str) -> str:
    good = make_luhn(prefix)
    return good[:-1] + str((int(good[-1]) + 1) % 10)


VALID_ID = make_id("11010519900307123")  # Beijing, 1990-03-07
CARD19 = make_luhn("622202123456789012")  # UnionPay-style, 19 digits


@pytest.fixture(scope="module")
def pipe() -> CheckPipeline:
    return CheckPipeline(reload_interval=None)


def run(pipe: CheckPipeline, text: str, field: str = "body") -> list[CheckFinding]:
    findings = pipe.run({field: text})
    for f in findings:  # every span is exact, whatever the check
        assert text[f.start : f.end] == f.text, f
    return findings


def of_kind(findings: list[CheckFinding], kind: str) -> list[CheckFinding]:
    return [f for f in findings if f.kind == kind]


def write_data(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


# ---------------------------------------------------------------- folding / encoding


def test_fold_is_length_preserving() -> None:
    text = "身份证１１０１０５ＡＢｃ，ＷＷＷ．ＥＸＡＭＰＬＥ．ＣＯＭ（括号）"
    folded = fold(text)
    assert len(folded) == len(text)
    assert "110105abc" in folded
    assert "www.example.com" in folded
    assert "（括号）" in folded  # Chinese punctuation untouched
    assert len(encode(folded)) == 2 * len(folded)
    assert len(encode("表情😀")) == 2 * len("表情😀")


# ---------------------------------------------------------------- sensitive terms


def test_sensitive_term_true_positive(pipe: CheckPipeline) -> None:
    text = "本店提供高价回收银行卡业务"
    [f] = of_kind(run(pipe, text), "sensitive")
    assert (f.start, f.end, f.text) == (4, 11, "高价回收银行卡")
    assert f.severity == BLOCK
    assert f.rule == "sensitive:高价回收银行卡"
    assert "诈骗" in f.message


def test_sensitive_topic_word_only_warns(pipe: CheckPipeline) -> None:
    [f] = of_kind(run(pipe, "网上出现新型网络赌博手法"), "sensitive")
    assert f.severity == WARN


def test_allowlisted_phrase_suppresses_sensitive_hit(pipe: CheckPipeline) -> None:
    assert of_kind(run(pipe, "公安机关严厉打击网络赌博犯罪"), "sensitive") == []
    assert of_kind(run(pipe, "网络赌博危害大"), "sensitive")


def test_allowlist_in_custom_data_dir(tmp_path: Path) -> None:
    write_data(tmp_path, "sensitive_terms.txt", "赌博\tblock\t赌博\n")
    write_data(tmp_path, "allowlist.txt", "反赌博\n禁赌博\tcommercial\n")
    pipe = CheckPipeline(data_dir=tmp_path, reload_interval=None)
    assert of_kind(run(pipe, "开展反赌博宣传"), "sensitive") == []
    # the allow entry is scoped to another kind, so it does not suppress a sensitive hit
    assert len(of_kind(run(pipe, "严禁赌博"), "sensitive")) == 1
    assert len(of_kind(run(pipe, "远离赌博"), "sensitive")) == 1


def test_ascii_terms_match_whole_words_case_and_width_insensitive(tmp_path: Path) -> None:
    write_data(tmp_path, "sensitive_terms.txt", "abc\twarn\t测试\n")
    pipe = CheckPipeline(data_dir=tmp_path, reload_interval=None)
    [f] = of_kind(run(pipe, "请访问ＡＢＣ网址"), "sensitive")
    assert f.text == "ＡＢＣ"
    assert len(of_kind(run(pipe, "代号ABC。"), "sensitive")) == 1
    assert of_kind(run(pipe, "abcdef and xabc"), "sensitive") == []


# ---------------------------------------------------------------- serious wording errors


@pytest.mark.parametrize(
    ("wrong", "right"),
    [
        ("中华人民共合国", "中华人民共和国"),
        ("中华人民大和国", "中华人民共和国"),
        ("中共人民共和国", "中华人民共和国"),
        ("攻府", "政府"),
        ("领导小姐", "领导小组"),
    ],
)
def test_serious_errors_block_with_correction(pipe: CheckPipeline, wrong: str, right: str) -> None:
    text = f"根据{wrong}有关规定"
    [f] = of_kind(run(pipe, text), "serious_error")
    assert (f.start, f.end, f.severity, f.suggestion) == (2, 2 + len(wrong), BLOCK, right)
    assert right in f.message


def test_correct_wording_is_not_flagged(pipe: CheckPipeline) -> None:
    text = "中华人民共和国国务院、各级人民政府、领导小组办公室、党史学习教育"
    assert of_kind(run(pipe, text), "serious_error") == []


def test_outdated_term_warns_and_allowlisted_compound_passes(pipe: CheckPipeline) -> None:
    [f] = of_kind(run(pipe, "深入开展党史教育"), "serious_error")
    assert (f.text, f.severity, f.suggestion) == ("党史教育", WARN, "党史学习教育")
    assert of_kind(run(pipe, "参观党史教育基地"), "serious_error") == []
    assert of_kind(run(pipe, "各级环境保护部门"), "serious_error") == []


def test_wrong_form_inside_the_right_form_is_not_flagged(tmp_path: Path) -> None:
    write_data(tmp_path, "serious_errors.tsv", "卫生委\t卫生健康委\torgan_name\n健康委\t卫生健康委\torgan_name\twarn\n")
    pipe = CheckPipeline(data_dir=tmp_path, reload_interval=None)
    assert of_kind(run(pipe, "市卫生健康委发布通知"), "serious_error") == []
    [f] = of_kind(run(pipe, "市健康委发布通知"), "serious_error")
    assert f.severity == WARN
    [f] = of_kind(run(pipe, "市卫生委发布通知"), "serious_error")
    assert f.severity == BLOCK


# ---------------------------------------------------------------- leaders
# The rules are tested on a made-up list (so they do not depend on who holds which post); the
# shipped starter list is tested with expectations derived from the file itself.

FAKE_LEADERS = """# 测试用名单
示例省领导\t1\t示例甲\t示例省委书记\t示列甲,示例呷
示例省领导\t2\t示例乙\t示例省委副书记,示例省省长\t示列乙
示例省领导\t3\t示例丙\t示例省委副书记\t示列丙
示例省领导\t4\t示例丁\t示例省常务副省长、示例省委常委
"""


@pytest.fixture(scope="module")
def leader_pipe(tmp_path_factory: pytest.TempPathFactory) -> CheckPipeline:
    folder = tmp_path_factory.mktemp("leaders")
    write_data(folder, "leaders.tsv", FAKE_LEADERS)
    return CheckPipeline(data_dir=folder, reload_interval=None)


def leader_findings(pipe: CheckPipeline, text: str) -> list[CheckFinding]:
    return [f for f in of_kind(run(pipe, text), "serious_error") if f.rule.startswith("leader")]


def test_leader_order_title_and_name(leader_pipe: CheckPipeline) -> None:
    [f] = leader_findings(leader_pipe, "示例乙、示例甲出席会议。")
    assert (f.start, f.end, f.severity) == (0, 7, BLOCK)
    assert f.suggestion == "示例甲、示例乙"
    assert f.rule.startswith("leader.order")

    assert leader_findings(leader_pipe, "示例甲、示例乙、示例丙出席会议。") == []
    # a different sentence is not a listing
    assert leader_findings(leader_pipe, "示例乙主持会议。示例甲讲话。") == []

    [f] = leader_findings(leader_pipe, "副省长示例乙指出")
    assert (f.text, f.severity, f.rule) == ("副省长示例乙", WARN, "leader.title:示例乙")
    assert leader_findings(leader_pipe, "省长示例乙指出") == []
    assert leader_findings(leader_pipe, "省委副书记示例丙指出") == []
    # titles may be separated by 、 in the file; 常务副省长 is read as 副省长 and the reverse
    assert leader_findings(leader_pipe, "副省长示例丁指出") == []
    assert leader_findings(leader_pipe, "省委常委示例丁指出") == []

    [f] = leader_findings(leader_pipe, "示列甲同志")
    assert (f.text, f.suggestion, f.severity) == ("示列甲", "示例甲", BLOCK)


@pytest.mark.parametrize(
    "text",
    [
        "示例甲、示例乙、示例丙、示例丁出席会议。",
        "示例甲 示例乙 示例丙",
        "示例甲同志和示例乙同志出席。",
        "示例甲书记、示例乙省长出席。",
        "省委书记示例甲，省委副书记、省长示例乙，省委副书记示例丙出席。",
    ],
)
def test_leader_listings_in_order(leader_pipe: CheckPipeline, text: str) -> None:
    assert leader_findings(leader_pipe, text) == []


@pytest.mark.parametrize(
    ("text", "listing"),
    [
        ("示例甲、示例丙、示例乙出席会议。", "示例甲、示例丙、示例乙"),
        ("示例乙省长、示例甲书记出席。", "示例乙省长、示例甲"),
        ("示例乙同志和示例甲同志", "示例乙同志和示例甲"),
        ("省委副书记、省长示例乙，省委书记示例甲出席。", "示例乙，省委书记示例甲"),
    ],
)
def test_leader_listings_out_of_order(leader_pipe: CheckPipeline, text: str, listing: str) -> None:
    [f] = leader_findings(leader_pipe, text)
    assert (f.text, f.severity) == (listing, BLOCK)
    assert f.rule.startswith("leader.order:")


@pytest.mark.parametrize(
    "text",
    [
        # two names in one sentence that is not a listing: no order finding
        "示例乙在讲话中强调，要认真贯彻示例甲书记的指示要求。",
        "示例丙主持会议，示例甲出席并讲话。",
        "示例乙会见了示例甲",
    ],
)
def test_leader_names_in_a_sentence_are_not_a_listing(leader_pipe: CheckPipeline, text: str) -> None:
    assert [f for f in leader_findings(leader_pipe, text) if f.rule.startswith("leader.order")] == []


def test_leader_wrong_title_pairings(leader_pipe: CheckPipeline) -> None:
    [f] = leader_findings(leader_pipe, "省长示例甲出席")  # 示例甲 is 书记, 省长 is 示例乙
    assert (f.text, f.severity, f.rule) == ("省长示例甲", WARN, "leader.title:示例甲")
    assert f.suggestion == "示例省委书记"
    [f] = leader_findings(leader_pipe, "示例乙书记出席")  # title after the name
    assert (f.text, f.severity) == ("示例乙书记", WARN)
    assert leader_findings(leader_pipe, "示例乙省长出席") == []
    # no title next to the name, or a word that is no title: nothing to compare
    assert leader_findings(leader_pipe, "示例乙出席") == []
    assert leader_findings(leader_pipe, "示例乙主持会议") == []


# ---------------------------------------------------------------- the shipped leaders list

SHIPPED_LEADERS = Path(__file__).resolve().parents[2] / "moderation" / "data" / "leaders.tsv"


@pytest.fixture(scope="module")
def shipped_leaders() -> list:

    leaders, _entries = _parse_leaders(SHIPPED_LEADERS)
    return list(leaders.values())


def _largest_group(leaders: list) -> list:
    groups: dict[str, list] = {}
    for leader in leaders:
        groups.setdefault(leader.group, []).append(leader)
    return sorted(max(groups.values(), key=len), key=lambda ld: ld.rank)


def test_shipped_leaders_list_is_dated_maintained_and_not_a_placeholder(shipped_leaders: list) -> None:

    lines = SHIPPED_LEADERS.read_text(encoding="utf-8").splitlines()
    header = "\n".join(line for line in lines if line.startswith("#"))
    assert re.search(r"as of:\s*\d{4}-\d{2}-\d{2}", header), "the list must say when it was last checked"
    assert "维护" in header and "maintain" in header
    assert not any("示例" in ld.name for ld in shipped_leaders), "placeholder names shipped"
    group = _largest_group(shipped_leaders)
    assert len(group) >= 3 and all(ld.titles for ld in group)
    assert len({ld.rank for ld in group}) == len(group), "ranks within a group must be distinct"


def test_shipped_leaders_order_titles_and_names(pipe: CheckPipeline, shipped_leaders: list) -> None:
    group = _largest_group(shipped_leaders)
    names = [ld.name for ld in group]
    first, second, third = group[:3]

    # the full listing in protocol order, plain and with each leader's first title before the name
    assert leader_findings(pipe, "、".join(names) + "出席会议。") == []
    formal = "，".join(f"{ld.titles[0]}{ld.name}" for ld in group) + "出席会议。"
    assert leader_findings(pipe, formal) == []

    # true positives: two swapped, and the last moved to the front
    [f] = leader_findings(pipe, f"{second.name}、{first.name}出席会议。")
    assert (f.severity, f.suggestion) == (BLOCK, f"{first.name}、{second.name}")
    [f] = leader_findings(pipe, "、".join([names[-1], *names[:-1]]) + "出席会议。")
    assert f.severity == BLOCK and f.suggestion == "、".join(names)
    [f] = leader_findings(pipe, f"{third.titles[-1]}{third.name}，{first.titles[0]}{first.name}出席。")
    assert f.rule.startswith("leader.order:")

    # near miss: the two names in one sentence that is not a listing
    assert leader_findings(pipe, f"{second.name}在讲话中强调，要深入贯彻{first.name}同志的重要指示精神。") == []

    # wrong title pairing: someone else's (distinct) title next to a name → warn, own title → nothing
    own = {ld.name: {t[-2:] for t in ld.titles} for ld in group}
    for leader in group:
        other = next((t for o in group if o is not leader for t in o.titles if t[-2:] not in own[leader.name]), None)
        if other is None:
            continue
        [f] = leader_findings(pipe, f"{other}{leader.name}出席")
        assert (f.severity, f.rule) == (WARN, f"leader.title:{leader.name}"), (other, leader.name)
        assert leader_findings(pipe, f"{leader.titles[-1]}{leader.name}出席") == []

    # the listed mis-writings are blocked with the right name as the suggestion

    _leaders, entries = _parse_leaders(SHIPPED_LEADERS)
    wrong = [e for e in entries if e.kind == "leader_wrong"]
    assert wrong, "the starter list should carry a few common mis-writings"
    for entry in wrong:
        [f] = leader_findings(pipe, f"{entry.term}同志")
        assert (f.text, f.suggestion, f.severity) == (entry.term, entry.data.name, BLOCK)


# ---------------------------------------------------------------- secrecy


@pytest.mark.parametrize(
    ("text", "mark"),
    [
        ("秘密★1年\n关于某事项的通知", "秘密★1年"),
        ("★机密\n正文", "★机密"),
        ("机密★长期", "机密★长期"),
        ("绝密\n正文内容", "绝密"),
        ("密级：秘密", "秘密"),
        ("本文件为机密级文件", "机密级"),
        ("【内部资料】请勿外传", "内部资料"),
        ("内部资料，注意保存\n正文", "内部资料"),
        ("工作秘密\n正文", "工作秘密"),
        ("某某管理办法（征求意见稿）", "征求意见稿"),
        ("关于申请专项经费的请示", "关于申请专项经费的请示"),
    ],
)
def test_secrecy_marks_block(pipe: CheckPipeline, text: str, mark: str) -> None:
    found = of_kind(run(pipe, text), "secrecy")
    assert [f.text for f in found if f.severity == BLOCK] == [mark]


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("全体干部要保守秘密，严守纪律。", "秘密"),
        ("依法保护商业秘密。", "秘密"),
        ("景区新开放一条秘密通道。", "秘密"),
        ("严格执行重大事项请示报告制度。", "请示"),
        ("及时向上级请示汇报。", "请示"),
        ("不得泄露工作秘密。", "工作秘密"),
        ("据该公司内部资料显示，销量增长。", "内部资料"),
        ("关于公开征求《某某办法（征求意见稿）》意见的通知", "征求意见稿"),
        ("关于申请专项经费的请示的批复", "请示"),
    ],
)
def test_secrecy_words_in_prose_only_warn(pipe: CheckPipeline, text: str, word: str) -> None:
    [f] = of_kind(run(pipe, text), "secrecy")
    assert (f.text, f.severity) == (word, WARN)
    assert f.start == text.index(word)


def test_secrecy_mark_in_html_paragraph(pipe: CheckPipeline) -> None:
    text = "<p>秘密★5年</p><p>正文</p>"
    [f] = of_kind(run(pipe, text), "secrecy")
    assert (f.text, f.severity) == ("秘密★5年", BLOCK)


# ---------------------------------------------------------------- privacy: numbers


def test_valid_id_blocks_with_mask(pipe: CheckPipeline) -> None:
    assert id18_valid(VALID_ID)
    text = f"身份证号{VALID_ID}。"
    [f] = of_kind(run(pipe, text), "privacy")
    assert (f.start, f.end, f.severity, f.rule) == (4, 22, BLOCK, "privacy.id18")
    assert f.message == "疑似身份证号码（校验位正确）"
    assert f.suggestion == VALID_ID[:3] + "*" * 11 + VALID_ID[-4:]


def test_id_with_x_check_digit(pipe: CheckPipeline) -> None:
    [f] = of_kind(run(pipe, "号码11010519491231002X"), "privacy")
    assert (f.rule, f.suggestion) == ("privacy.id18", "110***********002X")
    [f] = of_kind(run(pipe, "号码11010519491231002x"), "privacy")
    assert f.rule == "privacy.id18"


def test_id_with_wrong_checksum_is_not_an_id(pipe: CheckPipeline) -> None:
    bad = VALID_ID[:-1] + ("0" if VALID_ID[-1] != "0" else "1")
    assert not id18_valid(bad)
    assert of_kind(run(pipe, f"编号{bad}"), "privacy") == []


def test_id_with_impossible_date_or_region_is_not_an_id(pipe: CheckPipeline) -> None:
    feb30 = make_id("11010519900230123")
    region99 = make_id("99010519900307123")
    assert of_kind(run(pipe, f"编号{feb30}"), "privacy") == []
    assert of_kind(run(pipe, f"编号{region99}"), "privacy") == []


def test_full_width_id_digits(pipe: CheckPipeline) -> None:
    wide = VALID_ID.translate({ord(c): 0xFF10 + int(c) for c in "0123456789"})
    text = f"证件：{wide}"
    [f] = of_kind(run(pipe, text), "privacy")
    assert (f.start, f.end, f.text, f.rule) == (3, 21, wide, "privacy.id18")
    assert f.suggestion == VALID_ID[:3] + "*" * 11 + VALID_ID[-4:]


def test_legacy_15_digit_id(pipe: CheckPipeline) -> None:
    [f] = of_kind(run(pipe, "旧证号110105900307123"), "privacy")
    assert (f.rule, f.severity, f.text) == ("privacy.id15", BLOCK, "110105900307123")
    assert of_kind(run(pipe, "编号110105901307123"), "privacy") == []  # month 13


def test_mobile_warns_with_mask(pipe: CheckPipeline) -> None:
    for shown in ("13812345678", "138 1234 5678", "138-1234-5678", "+86 13812345678"):
        text = f"联系电话：{shown}。"
        [f] = of_kind(run(pipe, text), "privacy")
        assert (f.text, f.severity, f.rule, f.suggestion) == (shown, WARN, "privacy.mobile", "138****5678")


def test_mobile_inside_longer_digit_run_is_not_a_mobile(pipe: CheckPipeline) -> None:
    assert of_kind(run(pipe, "订单号213812345678"), "privacy") == []
    assert of_kind(run(pipe, "流水号1381234567890"), "privacy") == []
    assert of_kind(run(pipe, "号码12812345678"), "privacy") == []  # 12x is not a mobile prefix


def test_bank_card_luhn(pipe: CheckPipeline) -> None:
    text = f"卡号{CARD19}"
    [f] = of_kind(run(pipe, text), "privacy")
    assert (f.rule, f.severity, f.start, f.end) == ("privacy.bank_card", BLOCK, 2, 21)
    assert f.suggestion == f"{CARD19[:4]} **** **** {CARD19[-4:]}"
    spaced = " ".join(CARD19[i : i + 4] for i in range(0, 19, 4))
    [f] = of_kind(run(pipe, f"卡号：{spaced}"), "privacy")
    assert (f.text, f.rule) == (spaced, "privacy.bank_card")
    card16 = make_luhn("622588123456789")
    [f] = of_kind(run(pipe, f"卡号{card16}"), "privacy")
    assert f.rule == "privacy.bank_card"


def test_19_digit_number_failing_luhn_is_not_a_card(pipe: CheckPipeline) -> None:
    bad = wrong_luhn("622202123456789012")
    assert not luhn_valid(bad)
    assert of_kind(run(pipe, f"卡号{bad}"), "privacy") == []


def test_valid_id_is_not_also_a_card(pipe: CheckPipeline) -> None:
    found = of_kind(run(pipe, f"号码{VALID_ID}"), "privacy")
    assert [f.rule for f in found] == ["privacy.id18"]


def test_landline_warns(pipe: CheckPipeline) -> None:
    for shown in ("010-62345678", "0571-88886666", "(010)62345678", "01062345678"):
        [f] = of_kind(run(pipe, f"咨询电话：{shown}"), "privacy")
        assert (f.text, f.severity, f.rule) == (shown, WARN, "privacy.landline")
    [f] = of_kind(run(pipe, "电话010-62345678"), "privacy")
    assert f.suggestion == "010-****5678"


def test_numbers_written_as_bare_digits(pipe: CheckPipeline) -> None:
    """Numbers without spaces or dashes, of every length a pattern can take, with a country code."""
    for shown in ("8613812345678", "008613812345678"):
        [f] = of_kind(run(pipe, f"联系电话：{shown}。"), "privacy")
        assert (f.text, f.rule, f.suggestion) == (shown, "privacy.mobile", "138****5678")
    [f] = of_kind(run(pipe, "咨询电话：057188886666。"), "privacy")
    assert (f.text, f.rule, f.suggestion) == ("057188886666", "privacy.landline", "0571-****6666")
    card17 = make_luhn("6225881234567890")
    [f] = of_kind(run(pipe, f"卡号{card17}。"), "privacy")
    assert (f.text, f.rule) == (card17, "privacy.bank_card")
    assert of_kind(run(pipe, f"卡号2{card17[1:]}。"), "privacy") == []  # 2… is no card prefix
    assert of_kind(run(pipe, "联系电话：12345678901234。"), "privacy") == []  # 14 digits: nothing fits


def test_dates_and_amounts_are_not_personal_data(pipe: CheckPipeline) -> None:
    text = "2024年3月7日，投入资金12345.67万元，惠及1234567户，文号2024-0012。"
    assert of_kind(run(pipe, text), "privacy") == []


# ---------------------------------------------------------------- privacy: addresses


def test_home_address_warns_with_mask(pipe: CheckPipeline) -> None:
    text = "当事人家住示例市示例区幸福路88号3栋2单元501室。"
    [f] = of_kind(run(pipe, text), "privacy")
    assert f.text == "示例市示例区幸福路88号3栋2单元501室"
    assert (f.severity, f.rule) == (WARN, "privacy.address")
    assert f.suggestion == "示例市示例区幸福路****"


def test_office_address_without_room_is_not_flagged(pipe: CheckPipeline) -> None:
    assert of_kind(run(pipe, "办公地址：示例市人民路100号。"), "privacy") == []
    assert of_kind(run(pipe, "办公地址：示例市人民路100号5楼。"), "privacy") == []
    assert of_kind(run(pipe, "示例〔2024〕3号文件"), "privacy") == []


# ---------------------------------------------------------------- links


def test_official_links_pass(pipe: CheckPipeline) -> None:
    text = "详见 https://www.gov.cn/zhengce/x.htm 、http://sz.gov.cn/a 和 www.news.cn/politics/。"
    assert of_kind(run(pipe, text), "link") == []


def test_commercial_link_blocks(pipe: CheckPipeline) -> None:
    text = "购买请点 https://item.taobao.com/item.htm?id=123，谢谢"
    [f] = of_kind(run(pipe, text), "link")
    assert f.text == "https://item.taobao.com/item.htm?id=123"
    assert (f.severity, f.rule) == (BLOCK, "link.commercial:taobao.com")


def test_unknown_and_short_links_warn(pipe: CheckPipeline) -> None:
    [f] = of_kind(run(pipe, "参考 example.com/page 。"), "link")
    assert (f.text, f.severity, f.rule) == ("example.com/page", WARN, "link.external")
    [f] = of_kind(run(pipe, "戳 http://t.cn/A6abc 查看"), "link")
    assert (f.severity, f.rule) == (WARN, "link.shortener:t.cn")
    [f] = of_kind(run(pipe, "访问ＷＷＷ．ＥＸＡＭＰＬＥ．ＣＯＭ"), "link")
    assert f.text == "ＷＷＷ．ＥＸＡＭＰＬＥ．ＣＯＭ"


def test_emails_file_names_and_versions_are_not_links(pipe: CheckPipeline) -> None:
    text = "来信请寄 office@example.com，附件：通知.pdf、表格.xlsx，版本v1.2.3。"
    assert of_kind(run(pipe, text), "link") == []


def test_ad_wording(pipe: CheckPipeline) -> None:
    found = of_kind(run(pipe, "扫码领取优惠券，点击购买！"), "commercial")
    assert [(f.text, f.severity) for f in found] == [("扫码领取", WARN), ("优惠券", WARN), ("点击购买", BLOCK)]
    assert of_kind(run(pipe, "位于北京东路的办事大厅"), "commercial") == []


# ---------------------------------------------------------------- pipeline


def test_every_field_is_checked_and_reported(pipe: CheckPipeline) -> None:
    fields = {
        "title": "中华人民共合国成立75周年",
        "body": f"联系人身份证{VALID_ID}",
        "image_alt:0": "秘密★1年",
        "attachment:名单.pdf": "手机13812345678",
        "summary": "",
    }
    findings = pipe.run(fields)
    assert [(f.field, f.kind, f.severity) for f in findings] == [
        ("title", "serious_error", BLOCK),
        ("body", "privacy", BLOCK),
        ("image_alt:0", "secrecy", BLOCK),
        ("attachment:名单.pdf", "privacy", WARN),
    ]
    for f in findings:
        assert fields[f.field][f.start : f.end] == f.text
    assert has_blocking(findings)
    assert not has_blocking([f for f in findings if f.severity == WARN])
    assert pipe.run({"body": "今天天气晴，全市各项工作有序推进。"}) == []


def test_spans_exact_in_mixed_text(pipe: CheckPipeline) -> None:
    text = (
        "　　秘密★1年\n各单位：ＡＢＣ 中华人民共合国 领导小姐，手机：139-8765-4321，"
        f"身份证{VALID_ID}，卡号{CARD19}，链接 https://shop.jd.com/x 。家住示例县和平街道幸福里7号2单元301室。"
    )
    findings = run(pipe, text)
    kinds = {f.kind for f in findings}
    assert {"secrecy", "serious_error", "privacy", "link"} <= kinds


def test_finding_dict_round_trip(pipe: CheckPipeline) -> None:
    [f] = run(pipe, "领导小姐")
    assert CheckFinding.from_dict(f.to_dict()) == f


def test_extra_findings_hooks_and_custom_checks(tmp_path: Path) -> None:
    class TooLong(Check):
        kind = "platform_limit"

        def check(self, text: str, ctx: object = None) -> list[Hit]:
            if len(text) <= 10:
                return []
            return [Hit(10, len(text), text[10:], BLOCK, "超出10字", "len>10")]

    def cover_required(fields: object) -> list[CheckFinding]:
        return [make_finding("platform_limit", "cover", "微信公众号图文需要封面图", rule="wechat:cover")]

    pipe = CheckPipeline(hooks=[cover_required], reload_interval=None)
    pipe.add_check(TooLong())
    extra = make_finding("platform_limit", "title", "标题超过64字", severity=WARN, rule="wechat:title_len")
    findings = pipe.run({"title": "一二三四五六七八九十十一", "cover": ""}, extra=[extra])
    assert [(f.field, f.rule, f.severity) for f in findings] == [
        ("title", "wechat:title_len", WARN),
        ("title", "len>10", BLOCK),
        ("cover", "wechat:cover", BLOCK),
    ]
    assert findings[1].text == "十一"
    with pytest.raises(ValueError, match="severity"):
        make_finding("platform_limit", "title", "x", severity="fatal")


def test_explicit_reload_picks_up_new_term(tmp_path: Path) -> None:
    path = write_data(tmp_path, "sensitive_terms.txt", "旧词\twarn\t测试\n")
    pipe = CheckPipeline(data_dir=tmp_path, reload_interval=None)
    assert of_kind(run(pipe, "新词和旧词"), "sensitive")[0].text == "旧词"
    path.write_text("旧词\twarn\t测试\n新词\tblock\t测试\n", encoding="utf-8")
    assert len(of_kind(run(pipe, "新词和旧词"), "sensitive")) == 1  # no auto reload configured
    pipe.reload()
    found = of_kind(run(pipe, "新词和旧词"), "sensitive")
    assert [(f.text, f.severity) for f in found] == [("新词", BLOCK), ("旧词", WARN)]


def test_automatic_reload_on_mtime_change(tmp_path: Path) -> None:
    path = write_data(tmp_path, "sensitive_terms.txt", "甲词\n")
    pipe = CheckPipeline(data_dir=tmp_path, reload_interval=0)
    assert of_kind(run(pipe, "乙词"), "sensitive") == []
    path.write_text("甲词\n乙词\n", encoding="utf-8")
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))
    assert len(of_kind(run(pipe, "乙词"), "sensitive")) == 1
    # a new override file appearing in the data dir is picked up too
    write_data(tmp_path, "allowlist.txt", "乙词\n")
    assert of_kind(run(pipe, "乙词"), "sensitive") == []


def test_reload_interval_throttles_stat(tmp_path: Path) -> None:
    path = write_data(tmp_path, "sensitive_terms.txt", "甲词\n")
    pipe = CheckPipeline(data_dir=tmp_path, reload_interval=3600)
    path.write_text("甲词\n乙词\n", encoding="utf-8")
    assert of_kind(run(pipe, "乙词"), "sensitive") == []
    assert pipe.maybe_reload() is False


def test_bad_data_file(tmp_path: Path) -> None:
    path = write_data(tmp_path, "sensitive_terms.txt", "甲词\n")
    pipe = CheckPipeline(data_dir=tmp_path, reload_interval=0)
    path.write_text("甲词\n乙词\tfatal\n", encoding="utf-8")
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))
    # automatic reload logs the error and keeps the old dictionary
    assert len(of_kind(run(pipe, "甲词"), "sensitive")) == 1
    with pytest.raises(DataFileError, match="第2行"):
        pipe.reload()
    assert len(of_kind(run(pipe, "甲词"), "sensitive")) == 1
    with pytest.raises(DataFileError):
        CheckPipeline(data_dir=tmp_path)


def test_other_data_file_errors(tmp_path: Path) -> None:
    write_data(tmp_path, "secrecy_terms.tsv", "秘密\tsecretish\n")
    with pytest.raises(DataFileError, match=r"secrecy_terms\.tsv 第1行"):
        CheckPipeline(data_dir=tmp_path)
    (tmp_path / "secrecy_terms.tsv").unlink()
    write_data(tmp_path, "leaders.tsv", "组\t第一\t某某\t职务\n")
    with pytest.raises(DataFileError, match="整数"):
        CheckPipeline(data_dir=tmp_path)


def test_default_pipeline_is_shared_and_reads_the_setting(app, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """CHECKS_DATA_DIR (config.py reads it from $GOVMEDIA_CHECKS_DATA_DIR)."""
    write_data(tmp_path, "sensitive_terms.txt", "定制词\n")
    monkeypatch.setitem(app.config, "CHECKS_DATA_DIR", str(tmp_path))
    reset_default_pipeline()
    context = app.app_context()
    context.push()
    try:
        p = default_pipeline()
        assert default_pipeline() is p
        assert of_kind(p.run({"body": "定制词"}), "sensitive")
        # standalone checks fall back to the default pipeline's data

        assert [h.text for h in SensitiveTermCheck().check("有定制词")] == ["定制词"]
    finally:
        reset_default_pipeline()
        context.pop()


# ---------------------------------------------------------------- width / case variants


def test_full_width_variants_across_checks(pipe: CheckPipeline) -> None:
    [f] = of_kind(run(pipe, "号码１１０１０５１９４９１２３１００２Ｘ"), "privacy")
    assert (f.rule, f.suggestion) == ("privacy.id18", "110***********002X")
    [f] = of_kind(run(pipe, "手机１３８１２３４５６７８"), "privacy")
    assert f.suggestion == "138****5678"
    [f] = of_kind(run(pipe, "家住示例市幸福小区３栋２单元５０１室"), "privacy")
    assert f.text == "示例市幸福小区３栋２单元５０１室"
    [f] = of_kind(run(pipe, "秘密★１年"), "secrecy")
    assert (f.text, f.severity) == ("秘密★１年", BLOCK)
    [f] = of_kind(run(pipe, "详见HTTPS://WWW.TAOBAO.COM/Item?ID=1。"), "link")
    assert (f.text, f.severity) == ("HTTPS://WWW.TAOBAO.COM/Item?ID=1", BLOCK)
    [f] = of_kind(run(pipe, '<a href="https://shop.example.com/a">链接</a>'), "link")
    assert f.text == "https://shop.example.com/a"
    [f] = of_kind(run(pipe, "欢迎加Ｖ咨询"), "commercial")
    assert f.text == "加Ｖ咨询"


def test_several_numbers_in_one_run(pipe: CheckPipeline) -> None:
    text = "电话 13812345678 13987654321 010-62345678"
    found = of_kind(run(pipe, text), "privacy")
    assert [f.text for f in found] == ["13812345678", "13987654321", "010-62345678"]


def test_standalone_check_with_own_lexicon(tmp_path: Path) -> None:

    write_data(tmp_path, "sensitive_terms.txt", "独立词\twarn\n")
    check = SensitiveTermCheck(Lexicon.load(tmp_path))
    [h] = list(check.check("这是独立词"))
    assert (h.start, h.end, h.severity) == (2, 5, WARN)


def test_secrecy_in_html_paragraphs(pipe: CheckPipeline) -> None:
    [f] = of_kind(run(pipe, "<p>正文第一段。</p><p><strong>绝密</strong></p>"), "secrecy")
    assert (f.text, f.severity) == ("绝密", BLOCK)
    [f] = of_kind(run(pipe, "<p>景区有一条<b>秘密</b>通道。</p>"), "secrecy")
    assert f.severity == WARN
    [f] = of_kind(run(pipe, "<p>正文。</p><h1>关于申请专项经费的请示</h1><p>市政府：</p>"), "secrecy")
    assert (f.text, f.severity) == ("关于申请专项经费的请示", BLOCK)
    [f] = of_kind(run(pipe, "<p>严格执行请示报告制度。</p>"), "secrecy")
    assert f.severity == WARN
