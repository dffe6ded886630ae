"""Text of uploaded attachments, for the automated checks.

``extract_text(data, content_type, name)`` reads plain text files (UTF-8, or GB18030 as many
office files are), PDF (pypdf: the text layer; a scanned PDF has none) and Word ``.docx``
(python-docx: paragraphs, tables, headers and footers). Anything else — legacy ``.doc``,
images, archives, an unreadable or encrypted file — yields ``""``: the checks cannot read it
and a reviewer has to (``moderation.service`` adds a ``warn`` finding for that).

The text is capped at ``TEXT_MAX`` characters; a longer text is cut there and flagged by the
same finding. Parsing never raises: a broken file is "no extractable text".
"""

from __future__ import annotations

import io
import logging
import re
import warnings
import zipfile
from collections.abc import Iterator
from functools import lru_cache

from common import media as media_store

log = logging.getLogger("govmedia.moderation.attachments")

TEXT_MAX = 200_000  # characters kept (moderation.service.ATTACHMENT_TEXT_MAX)
PDF_MAX_PAGES = 2_000
DOCX_MAX_XML_BYTES = 64 * 1024 * 1024  # uncompressed word/*.xml, against zip bombs

PDF_TYPES = frozenset({"application/pdf", "application/x-pdf"})
DOCX_TYPES = frozenset({"application/vnd.openxmlformats-officedocument.wordprocessingml.document"})
TEXT_SUFFIXES = (".txt", ".csv", ".tsv", ".md")
_BLANK_RUNS = re.compile(r"[ \t\u3000]+\n")
_MANY_NEWLINES = re.compile(r"\n{3,}")


def kind_of(data: bytes, content_type: str = "", name: str = "") -> str | None:
    """``"pdf"``, ``"docx"``, ``"text"`` or None (not a type we can read). Content wins over labels."""
    content_type = (content_type or "").split(";")[0].strip().lower()
    name = (name or "").lower()
    if data[:1024].lstrip().startswith(b"%PDF-"):
        return "pdf"
    if data[:4] == b"PK\x03\x04" and (content_type in DOCX_TYPES or name.endswith(".docx") or _is_docx_zip(data)):
        return "docx"
    if content_type in PDF_TYPES or content_type in DOCX_TYPES:
        return None  # labelled PDF/Word but it is not one
    unlabelled = content_type in ("", "application/octet-stream")
    if content_type.startswith("text/") or (unlabelled and name.endswith(TEXT_SUFFIXES)):
        return "text"
    return None


def extract_text(data: bytes, content_type: str = "", name: str = "") -> str:
    """The attachment's plain text, or ``""`` when none can be extracted (see module doc)."""
    kind = kind_of(data, content_type, name)
    if kind is None or not data:
        return ""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pypdf warns about harmless quirks of real-world files
            if kind == "pdf":
                text = _pdf_text(data)
            elif kind == "docx":
                text = _docx_text(data)
            else:
                text = _decode(data)
    except Exception:  # a hostile or broken file must not break the upload or the checks
        log.info("no text extracted from %r (%s)", name, kind, exc_info=True)
        return ""
    return _tidy(text)


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", errors="replace")


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader  # noqa: PLC0415  heavy: pypdf loads only when a PDF is read

    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        reader.decrypt("")  # owner-password-only PDFs open with an empty user password; others raise
    parts: list[str] = []
    size = 0
    for index, page in enumerate(reader.pages):
        if index >= PDF_MAX_PAGES or size > TEXT_MAX:
            break
        text = page.extract_text() or ""
        parts.append(text)
        size += len(text)
    return "\n".join(parts)


def _is_docx_zip(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "word/document.xml" in archive.namelist()
    except zipfile.BadZipFile:
        return False


def _docx_text(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        xml_bytes = sum(i.file_size for i in archive.infolist() if i.filename.startswith("word/"))
    if xml_bytes > DOCX_MAX_XML_BYTES:
        raise ValueError(f"word/ parts too large when unpacked ({xml_bytes} bytes)")
    import docx  # noqa: PLC0415  heavy: python-docx loads only when a document is built or read

    document = docx.Document(io.BytesIO(data))
    parts = list(_docx_blocks(document))
    for section in document.sections:
        for part in (section.header, section.footer):
            if not part.is_linked_to_previous:
                parts.extend(p.text for p in part.paragraphs)
    return "\n".join(parts)


def _docx_blocks(document: object) -> Iterator[str]:
    """Body paragraphs and table cells in document order."""
    from docx.table import Table  # noqa: PLC0415  heavy: python-docx loads only when a document is built or read
    from docx.text.paragraph import Paragraph  # noqa: PLC0415  heavy: python-docx loads only when a document is built or read

    for block in document.iter_inner_content():  # type: ignore[attr-defined]
        if isinstance(block, Paragraph):
            yield block.text
        elif isinstance(block, Table):
            for row in block.rows:
                cells: list[str] = []
                for cell in row.cells:
                    if not cells or cell.text != cells[-1]:  # merged cells repeat their text
                        cells.append(cell.text)
                yield "\t".join(cells)


def _tidy(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    text = _MANY_NEWLINES.sub("\n\n", _BLANK_RUNS.sub("\n", text)).strip()
    return text[:TEXT_MAX]


# ----------------------------------------------------------------------------- stored files


@lru_cache(maxsize=32)
def _cached(folder: str, sha256: str, content_type: str, name: str) -> str:
    data = media_store.load(sha256)
    return extract_text(data or b"", content_type, name)


def stored_text(sha256: str, content_type: str = "", name: str = "") -> str | None:
    """Extracted text of a stored media file (needs an app context); None when the file is missing.

    Files are content-addressed, so the result is cached per (media folder, sha256, type, name).
    """

    folder = media_store.media_dir()
    if not re.fullmatch(r"[0-9a-f]{64}", sha256 or "") or not (folder / sha256).exists():
        return None
    return _cached(str(folder), sha256, content_type or "", name or "")
