"""``create_sandbox_app``: one Flask app simulating WeChat, Weibo, Douyin and Toutiao."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify, redirect, request
from werkzeug.exceptions import HTTPException

from sandbox import admin, douyin, inspection, interaction, mass, pages, sitefeed, wechat, weibo
from sandbox.common import EXTENSION_KEY
from sandbox.state import SandboxState
from sandbox.wechat import component as wechat_component
from sandbox.wechat import component_auth  # noqa: F401 - its routes join wechat_component.bp

#: Largest accepted request body (Douyin's single-upload limit is 128 MB).
MAX_BODY_BYTES = 140 * 1024 * 1024


def create_sandbox_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the sandbox app.

    ``config`` takes the runtime settings of ``sandbox.config.DEFAULTS`` plus
    ``state_file`` (a JSON file: load it if present, save every change to it).
    """
    settings = dict(config or {})
    state_file = settings.pop("state_file", None)
    state = SandboxState(settings, state_file)

    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions[EXTENSION_KEY] = state

    app.register_blueprint(wechat.blueprint())
    app.register_blueprint(mass.bp)
    app.register_blueprint(wechat_component.bp)
    app.register_blueprint(weibo.bp)
    app.register_blueprint(douyin.make_blueprint("douyin"))
    app.register_blueprint(douyin.make_blueprint("toutiao"))
    app.register_blueprint(douyin.make_toutiao_mp_blueprint())
    app.register_blueprint(admin.bp)
    app.register_blueprint(pages.bp)
    inspection.register(app)
    app.register_blueprint(interaction.bp)
    app.register_blueprint(sitefeed.bp)

    @app.after_request
    def _persist(response: Response) -> Response:
        if state.dirty:
            state.save()
        return response

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException) -> Response:
        response = jsonify({"error": err.name, "message": err.description, "path": request.path})
        response.status_code = err.code or 500
        return response

    @app.route("/", methods=["GET"])
    def root() -> Response:
        return redirect("/_sandbox/")  # type: ignore[return-value]

    return app
