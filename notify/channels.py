"""The outside channels: e-mail over SMTP and the 企业微信 / 钉钉 group robots' webhooks.

Robots, by their published formats:

* 企业微信 群机器人: ``POST https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY`` with
  ``{"msgtype": "markdown", "markdown": {"content": "…"}}`` (content ≤ 4096 bytes, UTF-8); the
  answer ``{"errcode": 0, "errmsg": "ok"}``. The key in the URL is the secret.
* 钉钉 自定义机器人: ``POST https://oapi.dingtalk.com/robot/send?access_token=TOKEN`` with
  ``{"msgtype": "markdown", "markdown": {"title": "…", "text": "…"}}``; with 加签 the URL also
  carries ``timestamp`` (ms) and ``sign`` = urlencode(base64(HMAC-SHA256(secret,
  f"{timestamp}\\n{secret}"))); the answer ``{"errcode": 0, "errmsg": "ok"}``.

A send raises :class:`SendError` with a message that never contains the URL, key, token or
secret (they are encrypted at rest and must not reach logs or the database in clear).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import smtplib
import ssl
import time
import urllib.parse
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from typing import Any

import requests
from flask import current_app

WECOM_MAX_BYTES = 4096
_SECRET_QUERY = re.compile(r"(?i)\b(key|access_token|sign|timestamp)=[^&\s\"']+")


class RedactWebhookSecrets(logging.Filter):
    """urllib3 logs each request's URL at DEBUG — with the robot's key or token in it. Installed on
    its logger by ``notify.init_app``: the values of key/access_token/sign/timestamp become ***."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        redacted = _SECRET_QUERY.sub(lambda m: f"{m.group(1)}=***", text)
        if redacted != text:
            record.msg, record.args = redacted, ()
        return True


def install_log_redaction() -> None:
    logger = logging.getLogger("urllib3.connectionpool")
    if not any(isinstance(f, RedactWebhookSecrets) for f in logger.filters):
        logger.addFilter(RedactWebhookSecrets())


class SendError(RuntimeError):
    """A channel refused or could not be reached; ``retryable`` says whether to try again."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class Message:
    title: str
    body: str  # plain text, may hold several lines
    url: str | None  # absolute link to the page where the work is
    at_text: str  # when, in Beijing time, for the reader


# ----------------------------------------------------------------------------- e-mail


def smtp_configured() -> bool:
    return bool(current_app.config.get("SMTP_HOST"))


def send_email(to: str, msg: Message, *, message_id: str) -> None:
    """One e-mail with a Chinese subject and body (UTF-8); ``message_id`` is stable per reminder."""
    cfg = current_app.config
    if not cfg.get("SMTP_HOST"):
        raise SendError("未配置 SMTP 服务器（SMTP_HOST）", retryable=False)
    email = EmailMessage()
    email["Subject"] = f"【政务新媒体平台】{msg.title}"
    email["From"] = formataddr(("政务新媒体平台", cfg["SMTP_FROM"]))
    email["To"] = to
    email["Date"] = formatdate(localtime=False)
    email["Message-ID"] = message_id
    lines = [msg.body, ""]
    if msg.url:
        lines.append(f"处理入口：{msg.url}")
    lines += [f"提醒时间：{msg.at_text}（北京时间）", "", "此邮件由系统自动发送，请勿直接回复。"]
    email.set_content("\n".join(lines), charset="utf-8")
    timeout = int(cfg.get("SMTP_TIMEOUT_SECONDS") or 15)
    security = cfg.get("SMTP_SECURITY") or "none"
    try:
        if security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                cfg["SMTP_HOST"], int(cfg["SMTP_PORT"]), timeout=timeout, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(cfg["SMTP_HOST"], int(cfg["SMTP_PORT"]), timeout=timeout)
        with smtp:
            if security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if cfg.get("SMTP_USER"):
                smtp.login(cfg["SMTP_USER"], cfg.get("SMTP_PASSWORD") or "")
            smtp.send_message(email)
    except smtplib.SMTPRecipientsRefused as exc:
        raise SendError(f"收件地址被拒绝：{to}", retryable=False) from exc
    except smtplib.SMTPAuthenticationError as exc:
        raise SendError("SMTP 登录失败（用户名或密码错误）", retryable=False) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise SendError(f"邮件发送失败：{type(exc).__name__}") from exc


# ----------------------------------------------------------------------------- robots


def dingtalk_signed_url(url: str, secret: str | None, now_ms: int | None = None) -> str:
    """The webhook URL with 钉钉's 加签 ``timestamp`` and ``sign`` (unchanged without a secret)."""
    if not secret:
        return url
    timestamp = str(now_ms if now_ms is not None else round(time.time() * 1000))
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    sign = urllib.parse.quote_plus(base64.b64encode(digest))
    return f"{url}{'&' if '?' in url else '?'}timestamp={timestamp}&sign={sign}"


def _clip_utf8(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode("utf-8", errors="ignore") + "…"


def robot_payload(kind: str, msg: Message) -> dict[str, Any]:
    body = msg.body.replace("\n", "\n> ")
    link = f"\n[去处理]({msg.url})" if msg.url else ""
    if kind == "wecom":
        content = f'**{msg.title}**\n> {body}\n> 时间：<font color="comment">{msg.at_text}</font>{link}'
        return {"msgtype": "markdown", "markdown": {"content": _clip_utf8(content, WECOM_MAX_BYTES)}}
    if kind == "dingtalk":
        text = f"#### {msg.title}\n\n> {body}\n\n时间：{msg.at_text}\n{link}"
        return {"msgtype": "markdown", "markdown": {"title": msg.title, "text": text}}
    raise ValueError(f"unknown robot kind {kind!r}")


def send_robot(kind: str, url: str, secret: str | None, msg: Message) -> None:
    target = dingtalk_signed_url(url, secret) if kind == "dingtalk" else url
    timeout = int(current_app.config.get("NOTIFY_WEBHOOK_TIMEOUT_SECONDS") or 10)
    try:
        response = requests.post(target, json=robot_payload(kind, msg), timeout=timeout)
    except requests.RequestException as exc:
        # The exception's text holds the URL (and with it the key): only its type is kept.
        raise SendError(f"机器人接口无法访问：{type(exc).__name__}") from None
    if response.status_code >= 500 or response.status_code == 429:
        raise SendError(f"机器人接口返回 HTTP {response.status_code}")
    try:
        answer = response.json()
    except ValueError:
        raise SendError(f"机器人接口返回了无法识别的内容（HTTP {response.status_code}）") from None
    errcode = answer.get("errcode") if isinstance(answer, dict) else None
    if response.status_code != 200 or errcode != 0:
        errmsg = str(answer.get("errmsg", ""))[:200] if isinstance(answer, dict) else ""
        # 钉钉 130101 / 企业微信 45009: sent too often — try again later; anything else is permanent.
        retryable = errcode in (130101, 45009, -1)
        raise SendError(f"机器人拒绝了消息：errcode={errcode} {errmsg}".strip(), retryable=retryable)
