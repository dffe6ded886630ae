"""Attachment text: extracted from PDF / Word .docx / plain text on upload and on save, checked
like the body; an attachment without extractable text is a warning for the reviewers."""

from __future__ import annotations

import io

import docx
import pytest

from common import media
from common.errors import Invalid
from moderation import attachments, review, service
from moderation.attachments import extract_text, kind_of
from moderation.models import Content, ContentStatus
from tests.moderation.conftest import ID_NUMBER, MOBILE
from tests.moderation.test_pages import _form, login

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
NO_TEXT = "附件无法提取文字，须人工核对"


# ----------------------------------------------------------------------------- small generated files


def make_pdf(*pages: str | None) -> bytes:
    """A minimal valid PDF; each page shows its text (None: a page with only a filled box, like a scan).

    The text is set in a Type0 font with Identity-H encoding whose ToUnicode CMap maps every
    two-byte code to the same Unicode code point, so CJK text needs no embedded font.
    """
    cmap = (
        b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
        b"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        b"/CMapName /Adobe-Identity-UCS def /CMapType 2 def\n"
        b"1 begincodespacerange <0000> <FFFF> endcodespacerange\n"
        b"1 beginbfrange <0000> <FFFF> <0000> endbfrange\n"
        b"endcmap CMapName currentdict /CMap defineresource pop end end\n"
    )

    def stream(data: bytes) -> bytes:
        return b"<< /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"

    objects: dict[int, bytes] = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        3: b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /Identity-H "
        b"/DescendantFonts [4 0 R] /ToUnicode 5 0 R >>",
        4: b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light "
        b"/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /DW 1000 >>",
        5: stream(cmap),
    }
    kids = []
    for index, text in enumerate(pages):
        page_id, content_id = 6 + 2 * index, 7 + 2 * index
        kids.append(f"{page_id} 0 R")
        if text is None:
            ops = b"q 400 0 0 600 50 100 cm 0.5 g 0 0 1 1 re f Q"
        else:
            lines = [
                f"BT /F1 12 Tf 50 {780 - 16 * n} Td <{''.join(f'{ord(c):04X}' for c in line)}> Tj ET"
                for n, line in enumerate(text.split("\n"))
            ]
            ops = "\n".join(lines).encode()
        objects[page_id] = (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {content_id} 0 R >>"
        ).encode()
        objects[content_id] = stream(ops)
    objects[2] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(pages)} >>".encode()

    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += f"{number} 0 obj\n".encode() + objects[number] + b"\nendobj\n"
    xref = len(out)
    size = max(objects) + 1
    out += f"xref\n0 {size}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offsets[n]:010d} 00000 n \n".encode() for n in range(1, size))
    out += f"trailer\n<< /Size {size} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def make_docx(*paragraphs: str, table: list[list[str]] | None = None, footer: str | None = None) -> bytes:

    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
    if footer is not None:
        document.sections[0].footer.paragraphs[0].text = footer
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


# ----------------------------------------------------------------------------- extraction (no database)


def test_pdf_text_is_extracted_page_by_page():
    data = make_pdf(f"公示名单\n张三 公民身份号码{ID_NUMBER}", None, f"联系电话：{MOBILE}")
    text = extract_text(data, "application/pdf", "公示.pdf")
    assert "公示名单" in text and ID_NUMBER in text and MOBILE in text
    assert text.index("公示名单") < text.index(MOBILE)


def test_scanned_or_broken_pdfs_have_no_text():
    assert extract_text(make_pdf(None, None), "application/pdf", "扫描件.pdf") == ""
    assert extract_text(b"%PDF-1.4 fake", "application/pdf", "坏文件.pdf") == ""
    assert extract_text(b"not a pdf at all", "application/pdf", "假的.pdf") == ""


def test_docx_paragraphs_tables_and_footer():
    data = make_docx(
        "关于开展安全生产检查的通知",
        "各乡镇人民政府：",
        table=[["姓名", "电话"], ["张三", MOBILE]],
        footer="内部资料 注意保存",
    )
    text = extract_text(data, DOCX, "通知.docx")
    assert text.splitlines()[:2] == ["关于开展安全生产检查的通知", "各乡镇人民政府："]
    assert f"张三\t{MOBILE}" in text
    assert "内部资料" in text


def test_content_wins_over_labels_and_unknown_types_yield_nothing():
    pdf = make_pdf("正文文字")
    docx_bytes = make_docx("正文文字")
    assert kind_of(pdf, "application/octet-stream", "upload.bin") == "pdf"
    assert kind_of(docx_bytes, "application/zip", "upload") == "docx"
    assert extract_text(docx_bytes, "application/octet-stream", "upload") == "正文文字"
    # a legacy .doc (OLE compound file), an image, a zip that is no Word file: nothing
    assert extract_text(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "application/msword", "旧.doc") == ""
    assert extract_text(b"\x89PNG\r\n\x1a\nfake", "image/png", "扫描.png") == ""
    assert extract_text(b"PK\x03\x04garbage", DOCX, "坏.docx") == ""


def test_plain_text_in_utf8_or_gb18030():
    assert extract_text("名单：张三".encode(), "text/plain", "a.txt") == "名单：张三"
    assert extract_text("名单：张三".encode("gb18030"), "text/plain", "a.txt") == "名单：张三"
    assert extract_text("\ufeff名单".encode(), "application/octet-stream", "名单.txt") == "名单"


def test_long_text_is_capped(monkeypatch):

    monkeypatch.setattr(attachments, "TEXT_MAX", 10)
    assert extract_text(("一二三四五六七八九十" * 3).encode(), "text/plain", "a.txt") == "一二三四五六七八九十"


# ----------------------------------------------------------------------------- upload, save, submit


def _upload(client, data: bytes, name: str, content_type: str):
    response = client.post(
        "/api/v1/media",
        data={"file": (io.BytesIO(data), name, content_type)},
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.json
    return response.json


def _media_item(uploaded, **extra):
    item = {k: uploaded[k] for k in ("name", "content_type", "sha256", "text")}
    item.update(extra)
    return item


@pytest.mark.parametrize(
    ("name", "content_type", "make"),
    [
        ("名单.pdf", "application/pdf", lambda: make_pdf(f"身份证 {ID_NUMBER}")),
        ("名单.docx", DOCX, lambda: make_docx(f"身份证 {ID_NUMBER}")),
    ],
)
def test_upload_extracts_text_and_submit_checks_it(api_as, team, media_dir, name, content_type, make):
    client = api_as(team.operator)
    uploaded = _upload(client, make(), name, content_type)
    assert uploaded["role"] == "attachment" and uploaded["text_extracted"] is True
    assert ID_NUMBER in uploaded["text"]

    created = client.post(
        "/api/v1/contents",
        json={
            "title": "示范县公示名单",
            "body": "<p>详见附件。</p>",
            "disclosure": "active",
            "kind": "news",
            "target_ids": [team.weibo.id],
            "media": [_media_item(uploaded)],
        },
    )
    assert created.status_code == 201, created.json
    refused = client.post(f"/api/v1/contents/{created.json['id']}/submit")
    assert refused.status_code == 422
    blocking = [f for f in refused.json["error"]["details"]["findings"] if f["severity"] == "block"]
    assert [(f["field"], f["rule"], f["text"]) for f in blocking] == [("attachment:0", "privacy.id18", ID_NUMBER)]
    assert blocking[0]["field_label"] == f"附件文字（{name}）"


def test_the_file_text_replaces_what_a_client_sends(db_session, team, make_content, media_dir):
    """An API client that drops the text, or sends a cleaned-up one, cannot hide the file's text."""

    sha = media.save(make_pdf(f"联系人手机 {MOBILE}，身份证 {ID_NUMBER}"))
    item = {"name": "名单.pdf", "content_type": "application/pdf", "sha256": sha}
    content = make_content(media=[{**item, "text": ""}])
    assert ID_NUMBER in content.media[0]["text"]
    service.update_content(content, {"media": [{**item, "text": "无个人信息"}]}, team.operator)
    assert ID_NUMBER in content.media[0]["text"]
    with pytest.raises(Invalid) as err:
        review.submit(content, team.operator)
    assert {f["field"] for f in err.value.detail["findings"] if f["severity"] == "block"} == {"attachment:0"}


def test_attachment_without_text_is_a_warning_the_stage_two_reviewer_acknowledges(
    db_session, team, make_content, media_dir, approve_all
):

    scanned = media.save(make_pdf(None, None))
    content = make_content(media=[{"name": "扫描件.pdf", "content_type": "application/pdf", "sha256": scanned}])
    assert content.media[0]["text"] == ""
    review.submit(content, team.operator)  # a warning does not stop the submission
    findings = service.latest_report(content).findings
    [warn] = [f for f in findings if f["rule"] == "attachment.no_text"]
    assert warn["severity"] == "warn" and warn["field"] == "attachment:0" and NO_TEXT in warn["message"]
    assert "扫描件.pdf" in warn["message"]

    review.advance(content, "approve_1", team.r1)
    with pytest.raises(Invalid) as err:
        review.advance(content, "approve_2", team.r2)
    assert err.value.extra_data["code"] == "warnings_not_acknowledged"
    assert any(f["rule"] == "attachment.no_text" for f in err.value.detail["findings"])
    review.advance(content, "approve_2", team.r2, acknowledge_warnings=True)
    review.advance(content, "approve_3", team.r3)
    assert content.status is ContentStatus.approved


def test_typed_text_of_an_unreadable_attachment_is_checked_and_still_flagged(db_session, team, make_content, media_dir):

    legacy = media.save(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 200)
    content = make_content(
        media=[{"name": "旧通知.doc", "content_type": "application/msword", "sha256": legacy, "text": f"电话{MOBILE}"}]
    )
    assert content.media[0]["text"] == f"电话{MOBILE}", "typed text is kept when the file has none"
    findings = service.run_checks(content)
    by_rule = {f.rule: f for f in findings}
    assert by_rule["attachment.no_text"].severity == "warn"
    assert "人工录入" in by_rule["attachment.no_text"].message
    assert any(f.field == "attachment:0" and f.kind == "privacy" for f in findings)


def test_images_and_readable_attachments_raise_no_attachment_warning(db_session, team, make_content, media_dir):

    image = media.save(b"\x89PNG\r\n\x1a\nfake")
    pdf = media.save(make_pdf("示范县秋季安全生产工作安排"))
    content = make_content(
        media=[
            {"name": "现场.png", "content_type": "image/png", "sha256": image, "alt": "会议现场"},
            {"name": "安排.pdf", "content_type": "application/pdf", "sha256": pdf},
        ]
    )
    assert content.media[1]["text"] == "示范县秋季安全生产工作安排"
    assert [f for f in service.run_checks(content) if f.rule.startswith("attachment.")] == []


def test_too_long_attachment_text_is_flagged(db_session, team, make_content, media_dir, monkeypatch):

    monkeypatch.setattr(service, "ATTACHMENT_TEXT_MAX", 5)
    sha = media.save("一二三四五".encode())
    item = {"name": "长.txt", "content_type": "text/plain", "sha256": sha, "text": "一二三四五"}
    content = Content(title="t", body_text="", media=[item])
    [finding] = service.attachment_findings(content)
    assert finding.rule == "attachment.truncated" and finding.severity == "warn"


def test_editor_upload_of_a_docx_fills_the_text_and_shows_it_read_only(client, team, db_session, media_dir):

    login(client, team.operator)
    data = _form(team)
    data["new_media"] = (io.BytesIO(make_docx("会议纪要", f"联系电话{MOBILE}")), "纪要.docx", DOCX)
    data["new_media_text"] = "人工录入的文字不会替代文件里的文字"
    response = client.post("/contents/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    content = db_session.query(Content).order_by(Content.id.desc()).first()
    assert content.media[0]["text"] == f"会议纪要\n联系电话{MOBILE}"
    edit = client.get(f"/contents/{content.id}/edit").get_data(as_text=True)
    assert 'data-text-source="file"' in edit and "readonly" in edit

    # a scan uploaded in the editor: the 检查 button shows the warning
    scan = _form(team, action="check")
    scan["new_media"] = (io.BytesIO(make_pdf(None)), "扫描件.pdf", "application/pdf")
    checked = client.post("/contents/new", data=scan, content_type="multipart/form-data").get_data(as_text=True)
    assert NO_TEXT in checked
