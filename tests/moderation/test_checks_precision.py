"""Precision and recall of moderation.checks on two corpora (tests/moderation/data/).

prose_negatives.txt: ordinary county-government prose with ID-like, card-like and secrecy-related
wording that is not a violation — no check may block on any line.
prose_positives.txt: real violations (marks in document heads, IDs with a valid check digit, card
numbers, private mobile numbers, home addresses) — every line gets a finding of its kind.
The counts are reported in docs/checks.md.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from moderation.checks import BLOCK, CheckFinding, CheckPipeline

DATA = Path(__file__).parent / "data"


def corpus(name: str) -> list[tuple[int, str]]:
    """(line number, line) of the non-comment lines; “\\n” in a line stands for a line break."""
    lines = DATA.joinpath(name).read_text(encoding="utf-8").splitlines()
    return [(i, line) for i, line in enumerate(lines, 1) if line.strip() and not line.startswith("#")]


NEGATIVES = corpus("prose_negatives.txt")
POSITIVES = corpus("prose_positives.txt")


@pytest.fixture(scope="module")
def pipe() -> CheckPipeline:
    return CheckPipeline(reload_interval=None)


def findings(pipe: CheckPipeline, line: str) -> list[CheckFinding]:
    text = line.replace("\\n", "\n")
    found = pipe.run({"body": text})
    for f in found:
        assert text[f.start : f.end] == f.text, f
    return found


def test_corpora_are_large_enough() -> None:
    assert len(NEGATIVES) >= 300
    assert len(POSITIVES) >= 60
    assert len({line for _, line in NEGATIVES}) == len(NEGATIVES), "duplicate negative lines"
    kinds = {line.split("\t")[0] for _, line in POSITIVES}
    assert kinds == {"secrecy", "privacy"}


@pytest.mark.parametrize(("lineno", "line"), NEGATIVES, ids=[f"neg{n}" for n, _ in NEGATIVES])
def test_ordinary_prose_is_not_blocked(pipe: CheckPipeline, lineno: int, line: str) -> None:
    blocking = [(f.rule, f.text) for f in findings(pipe, line) if f.severity == BLOCK]
    assert blocking == [], f"prose_negatives.txt line {lineno}"


@pytest.mark.parametrize(("lineno", "line"), POSITIVES, ids=[f"pos{n}" for n, _ in POSITIVES])
def test_real_violations_are_found(pipe: CheckPipeline, lineno: int, line: str) -> None:
    kind, severity, text = line.split("\t")
    assert severity in ("block", "warn")
    hits = [f for f in findings(pipe, text) if f.kind == kind and (severity == "warn" or f.severity == BLOCK)]
    assert hits, f"prose_positives.txt line {lineno}: no {severity} {kind} finding"


# ---------------------------------------------------------------- the cases of the issue, one by one


@pytest.mark.parametrize(
    "text",
    [
        "机密级以上事项一律不得在互联网上发布。",
        "绝密级国家秘密是最重要的国家秘密。",
        "国家秘密的密级分为绝密、机密、秘密三级。",
        "绝密、机密、秘密\n是国家秘密的三个密级。",
        "国家秘密，是指关系国家安全和利益的事项。",
        "文件首页应当标注密级和保密期限，如“秘密★1年”“机密★5年”等。",
        "内部资料不得在互联网上公开发布。",
        "会议审议了《示例县教育发展规划（征求意见稿）》。",
        "本文件不属于秘密级，可以公开。",
    ],
)
def test_statements_about_secrecy_rules_only_warn(pipe: CheckPipeline, text: str) -> None:
    found = [f for f in findings(pipe, text) if f.kind == "secrecy"]
    assert found, "the word is still shown to the reviewer"
    assert all(f.severity != BLOCK for f in found)


@pytest.mark.parametrize(
    ("text", "mark"),
    [
        ("此件属秘密级，阅后退回。", "秘密级"),
        ("机密级\n关于某事项的通报", "机密级"),
        ("（秘密）县委专题会议纪要", "秘密"),
        ("现将某办法（征求意见稿）印发给你们，请反馈意见。", "征求意见稿"),
        ("关于印发《某办法（征求意见稿）》的通知", "征求意见稿"),
        ("内部资料　注意保存\n2024年第3期", "内部资料"),
        ("示例县教育局关于追加校舍维修资金的请示", "关于追加校舍维修资金的请示"),
    ],
)
def test_marks_still_block(pipe: CheckPipeline, text: str, mark: str) -> None:
    found = [f for f in findings(pipe, text) if f.kind == "secrecy" and f.severity == BLOCK]
    assert [f.text for f in found] == [mark]


@pytest.mark.parametrize(
    "text",
    [
        "订单号：DD62157547189309249",  # 17 digits passing Luhn after letters
        "快递单号：SF65383633525556963",
        "凭证号码4613394299371227A",
        "商户订单号：SH-62146669211513582",
        "https://www.shili.gov.cn/attach/0/4266404894891113.pdf",
        "https://www.shili.gov.cn/art/2024/12/3/art_1229_33010219881211235X.html",  # a valid ID in a path
        "https://www.shili.gov.cn/news/detail?id=15802372140",
        "视频：https://www.shili.gov.cn/video/13868562535.mp4",
        "居住证受理编号：JZZ330782241203001",
        "营业执照注册号：330782000123456",  # a valid 15-digit ID shape, labelled as a serial
        "数据导出编码：6654254231353534987",  # Luhn-valid, labelled as a code
        "浙（2024）示例县不动产权第6654254231353534987号",
        "快递单号\n13868562535",  # the label on the line before
        "订单号 ：（13868562535",  # blanks, colons and brackets between label and number
    ],
)
def test_digit_runs_in_longer_tokens_are_not_personal_data(pipe: CheckPipeline, text: str) -> None:
    assert [f for f in findings(pipe, text) if f.kind == "privacy"] == []


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("卡号：6654254231353534987", "privacy.bank_card"),
        ("身份证号码330782198307277940", "privacy.id18"),
        ("证件编号：330782198307277940", "privacy.id18"),  # a personal label wins over 编号
        ("补贴发放：6222024533314789328。", "privacy.bank_card"),
        ("联系人 13868562535", "privacy.mobile"),
        ("订单核对完毕之后再拨打服务热线13868562535", "privacy.mobile"),  # 订单 is 15 characters back: no label
        ("订单号，联系人13868562535", "privacy.mobile"),  # the label is 联系人, after the comma
    ],
)
def test_standalone_and_personally_labelled_numbers_still_found(pipe: CheckPipeline, text: str, rule: str) -> None:
    assert [f.rule for f in findings(pipe, text) if f.kind == "privacy"] == [rule]
