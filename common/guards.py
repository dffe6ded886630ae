"""Request guards shared by every endpoint: bounded bodies, ids, JSON shape and text, and the
database's own refusals turned into 4xx answers (issue #19: none of these may answer 500).

- ``MAX_CONTENT_LENGTH`` bounds every body (413); ``MAX_JSON_BYTES`` bounds JSON bodies.
- ``<int:…>`` in any route accepts 0 … 2**31-1; a larger id is a plain 404 (``BoundedInt``).
- A JSON body nested deeper than ``MAX_JSON_DEPTH`` is refused before it is parsed (422
  ``json_too_deep``); one holding a lone surrogate (``"\\ud800"``) is refused (422
  ``invalid_text``), as are arrays over ``MAX_JSON_ITEMS`` and strings over ``MAX_JSON_STRING``.
- A response's Content-Type carries one charset.
- A foreign key that names nothing (IntegrityError) is a 422 ``invalid_reference``; a
  uniqueness clash a 409; a value the column cannot hold (DataError) a 422.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import sqlalchemy as sa
from flask import Flask, Response, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import IntegerConverter, ValidationError

from common.db import db
from common.errors import ApiError
from common.fields import INT_MAX

log = logging.getLogger(__name__)

MAX_JSON_DEPTH = 32
MAX_JSON_ITEMS = 1_000
MAX_JSON_STRING = 1_000_000
DEFAULTS = {
    "MAX_CONTENT_LENGTH": 32 * 1024 * 1024,
    "MAX_JSON_BYTES": 8 * 1024 * 1024,
}

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")
_SURROGATE = re.compile("[\ud800-\udfff]")


class BoundedInt(IntegerConverter):
    """``<int:x>``: digits only, at most 2**31-1 (the id columns), else the route does not match."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", INT_MAX)
        super().__init__(map, *args, **kwargs)

    def to_python(self, value: str) -> Any:
        if len(value) > len(str(INT_MAX)):
            raise ValidationError
        return super().to_python(value)


def json_depth(text: str) -> int:
    """The deepest nesting of ``[`` / ``{`` in a JSON text, strings skipped; no recursion."""
    depth = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub("", text)):
        if match.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _refuse(code: str, message: str, details: Any = None, status: int = 422) -> ApiError:
    return ApiError(message, code=code, details=details, status=status)


def _walk(value: Any, path: str) -> None:
    """Refuse lone surrogates, oversized arrays and strings anywhere in a parsed JSON body."""
    stack = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                raise _refuse(
                    "invalid_text", "文字中含有无效的 Unicode 字符（孤立代理项）", {where or "$": ["无效字符"]}
                )
            if len(item) > MAX_JSON_STRING:
                raise _refuse("validation_error", "文字过长", {where or "$": [f"最多 {MAX_JSON_STRING} 个字符"]})
        elif isinstance(item, dict):
            for key, child in item.items():
                if _SURROGATE.search(key):
                    raise _refuse("invalid_text", "字段名中含有无效的 Unicode 字符", {where or "$": ["无效字符"]})
                stack.append((child, f"{where}.{key}" if where else key))
        elif isinstance(item, list):
            if len(item) > MAX_JSON_ITEMS:
                raise _refuse("validation_error", "列表过长", {where or "$": [f"最多 {MAX_JSON_ITEMS} 项"]})
            stack.extend((child, f"{where}[{i}]") for i, child in enumerate(item))


def check_json_body() -> None:
    """Before any view parses it: size, depth, then (parsed once, cached by Flask) the text."""
    if not request.is_json or request.method in ("GET", "HEAD", "OPTIONS"):
        return
    limit = current_app.config.get("MAX_JSON_BYTES") or DEFAULTS["MAX_JSON_BYTES"]
    if (request.content_length or 0) > limit:
        raise RequestEntityTooLarge
    raw = request.get_data(cache=True)
    if len(raw) > limit:
        raise RequestEntityTooLarge
    text = raw.decode("utf-8", errors="replace")
    if json_depth(text) > MAX_JSON_DEPTH:
        raise _refuse("json_too_deep", f"JSON 嵌套过深（最多 {MAX_JSON_DEPTH} 层）")
    data = request.get_json(silent=True)
    if data is not None:
        _walk(data, "")


def one_charset(response: Response) -> Response:
    """``text/csv; charset=utf-8; charset=utf-8`` (send_file adds one to a mimetype that has it) → one."""
    content_type = response.headers.get("Content-Type", "")
    if content_type.count("charset=") > 1:
        head, *params = (part.strip() for part in content_type.split(";"))
        kept = [p for i, p in enumerate(params) if not p.startswith("charset=") or p not in params[:i]]
        response.headers["Content-Type"] = "; ".join([head, *kept])
    return response


def _constraint_error(exc: sa.exc.DBAPIError) -> tuple[int, str, str]:
    """Classify a database refusal without leaking its text (dialect-neutral)."""
    orig = exc.orig
    sqlstate = getattr(getattr(orig, "diag", None), "sqlstate", None) or getattr(orig, "sqlstate", None)
    text = str(orig).lower()
    if sqlstate == "23503" or "foreign key" in text:
        return 422, "invalid_reference", "引用的对象不存在（如单位、账号、稿件）"
    if sqlstate == "23505" or "unique" in text:
        return 409, "conflict", "与已有记录重复"
    if isinstance(exc, sa.exc.DataError):
        return 422, "validation_error", "数值或文字超出允许范围"
    return 422, "validation_error", "数据不符合约束"


def init_app(app: Flask) -> None:
    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)
    app.url_map.converters["int"] = BoundedInt
    app.before_request(check_json_body)
    app.after_request(one_charset)

    @app.errorhandler(sa.exc.IntegrityError)
    @app.errorhandler(sa.exc.DataError)
    def _database_refused(exc: sa.exc.DBAPIError) -> Any:
        db.session.rollback()
        status, code, message = _constraint_error(exc)
        log.warning("database refused a request's data: %s %s", type(exc.orig).__name__, request.path)
        return current_app.handle_user_exception(ApiError(message, code=code, status=status))

    @app.spec_processor
    def _document_bounds(spec: dict[str, Any]) -> dict[str, Any]:
        for operations in spec.get("paths", {}).values():
            for operation in operations.values():
                for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
                    schema = parameter.get("schema", {})
                    if parameter.get("in") == "path" and schema.get("type") == "integer":
                        schema.setdefault("minimum", 0)
                        schema.setdefault("maximum", INT_MAX)
        return spec
