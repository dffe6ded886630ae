from __future__ import annotations

from apiflask import Schema
from apiflask.fields import Boolean, Dict, List, Nested, String
from apiflask.validators import Length

from common.fields import DateTime, Integer
from common.validation import check_http_url


class DeliveryOut(Schema):
    id = Integer()
    content_id = Integer()
    version = Integer()
    account_id = Integer()
    account_name = String()
    platform = String()
    status = String()
    status_label = String()
    attempts = Integer()
    platform_post_id = String(allow_none=True)
    platform_url = String(allow_none=True)
    error_code = String(allow_none=True)
    error_message = String(allow_none=True)
    retryable = Boolean(allow_none=True)
    next_attempt_at = DateTime(allow_none=True)
    sent_at = DateTime(allow_none=True)
    withdrawn_at = DateTime(allow_none=True)
    manual = Boolean()
    send_mode = String(allow_none=True, metadata={"description": "微信：mass 群发 / publish 发布"})
    send_mode_label = String(allow_none=True)
    withdraw_note = String(allow_none=True, metadata={"description": "撤回能收回什么（如实说明）"})


class DeliveryList(Schema):
    items = List(Nested(DeliveryOut))
    total = Integer()
    content_status = String()


class WithdrawIn(Schema):
    reason = String(required=True, validate=Length(min=2, max=500), metadata={"description": "撤回原因"})


class WithdrawOut(Schema):
    content_id = Integer()
    status = String()
    cancelled = Integer()
    to_delete = Integer()


class ManualDoneIn(Schema):
    url = String(
        load_default=None,
        allow_none=True,
        validate=[Length(max=500, error="链接不能超过 500 个字符"), check_http_url],
        metadata={"description": "平台上的帖子链接（http:// 或 https://）"},
    )


class ManualPackageOut(Schema):
    package = Dict()


CREDENTIAL_MAX = 4096  # the longest real token (Douyin/Toutiao access_token) is well under 1 KB


class CredentialsIn(Schema):
    app_id = String(load_default=None, validate=Length(max=CREDENTIAL_MAX))
    app_secret = String(load_default=None, load_only=True, validate=Length(max=CREDENTIAL_MAX))
    access_token = String(load_default=None, load_only=True, validate=Length(max=CREDENTIAL_MAX))
    refresh_token = String(load_default=None, load_only=True, validate=Length(max=CREDENTIAL_MAX))
    open_id = String(load_default=None, validate=Length(max=CREDENTIAL_MAX))
    client_key = String(load_default=None, validate=Length(max=CREDENTIAL_MAX))
    client_secret = String(load_default=None, load_only=True, validate=Length(max=CREDENTIAL_MAX))


class CredentialsStatusOut(Schema):
    account_id = Integer()
    configured = Boolean()
    needs_reauth = Boolean()
    fields = List(String())


class RescheduleIn(Schema):
    publish_at = DateTime(required=True, metadata={"description": "新的发布时间，须在将来"})


class RescheduleOut(Schema):
    content_id = Integer()
    status = String()
    status_label = String()
    version = Integer(metadata={"description": "版本不变：改期不生成新版本"})
    publish_at_before = DateTime(allow_none=True)
    publish_at = DateTime()
    changed = Boolean()
    new_version = Boolean()
    needs_review = Boolean(metadata={"description": "只改时间无需重新审核（发布时间不在审核指纹内）"})
    notes = List(String())
