"""API errors in one envelope: {"error": {"code", "message", "details"}}."""

from __future__ import annotations

from typing import Any

from apiflask import HTTPError

CODE_BY_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}

MESSAGE_BY_STATUS = {
    400: "请求有误",
    401: "未登录或令牌无效",
    403: "无权执行此操作",
    404: "对象不存在或不在您的权限范围内",
    405: "不支持该请求方法",
    409: "当前状态不允许此操作",
    413: "上传内容过大",
    415: "不支持的内容类型",
    422: "请求参数校验失败",
    429: "请求过于频繁，请稍后再试",
    500: "服务器内部错误",
    503: "服务暂不可用",
}


class ApiError(HTTPError):
    """Raise from services and views; rendered by the app's error processor."""

    status_code = 400
    code = "bad_request"

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        details: Any = None,
        status: int | None = None,
    ) -> None:
        status_code = status or self.status_code
        super().__init__(
            status_code,
            message or MESSAGE_BY_STATUS.get(status_code, "请求有误"),
            detail=details,
            extra_data={"code": code or self.code},
        )


class NotFound(ApiError):
    status_code = 404
    code = "not_found"


class Forbidden(ApiError):
    status_code = 403
    code = "forbidden"


class Conflict(ApiError):
    status_code = 409
    code = "conflict"


class Invalid(ApiError):
    status_code = 422
    code = "validation_error"


def error_body(status: int, message: str | None, details: Any = None, code: str | None = None) -> dict[str, Any]:
    return {
        "error": {
            "code": code or CODE_BY_STATUS.get(status, "error"),
            "message": message or MESSAGE_BY_STATUS.get(status, "错误"),
            "details": details if details not in ({}, "") else None,
        }
    }


def readable_details(details: Any, role_names: dict[str, str] | None = None) -> list[str]:
    """Error details as sentences for the HTML error page (the JSON API keeps the structure).

    Field errors ``{"field": ["message", …]}`` give their (Chinese) messages; ``required_roles``
    names the roles (``role_names``: value → label); anything else that is not text a person can
    read is left out.
    """
    if not details:
        return []
    if isinstance(details, str):
        return [details] if any("\u4e00" <= ch <= "\u9fff" for ch in details) else []
    notes: list[str] = []
    if isinstance(details, dict):
        for key, value in details.items():
            if key == "required_roles" and isinstance(value, list):
                names = role_names or {}
                notes.append("需要以下角色之一：" + "、".join(names.get(str(r), str(r)) for r in value))
            else:
                notes.extend(readable_details(value, role_names))
    elif isinstance(details, list | tuple):
        for item in details:
            notes.extend(readable_details(item, role_names))
    return notes
