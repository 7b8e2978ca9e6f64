"""The console's application: accounts and sessions, the security every response carries, the pages.

Flask for the routes and the signed session cookie, Flask-WTF for the CSRF token on every form, waitress
to serve it (web/serve.py). The pages are Jinja2 templates under templates/web/, autoescaped: whatever a
sender wrote is shown as text.
"""
from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path

from flask import Flask, g, redirect, render_template, request, session, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect

from ..config import Config
from ..mail.tools import Tools
from ..store import Ledger
from . import accounts
from .images import Pictures
from .jobs import Jobs
from .snapshot import Snapshots
from .views import console

# No script or style but the console's own files, no framing, no plug-ins; images from the console only.
POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
          "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
OPEN = {"console.login", "static"}      # what a visitor who has not logged in may reach
SESSION_HOURS = 12


def create_app(config: Config, secret: bytes, jobs: Jobs | None = None) -> Flask:
    web = Path(config.templates_dir) / "web"
    app = Flask("intake.web", template_folder=str(web), static_folder=str(web / "static"), static_url_path="/static")
    app.config.update(
        SECRET_KEY=secret,
        SESSION_COOKIE_NAME="intake_session",
        APPLICATION_ROOT=config.web.prefix or "/",     # the cookie's path behind a proxy's prefix
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=config.web.https,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS),
        # Only a request that changes the session sets its cookie: otherwise a page image still drawing
        # when the clerk saves a correction answers after it and puts back the cookie without its 已记录….
        SESSION_REFRESH_EACH_REQUEST=False,
        WTF_CSRF_TIME_LIMIT=None,           # the token lives as long as the session: a form left open stays good
        MAX_CONTENT_LENGTH=1024 * 1024,     # forms only: nothing is uploaded here
        TEMPLATES_AUTO_RELOAD=False,
    )
    app.jinja_env.autoescape = True         # every template, whatever its name ends with
    CSRFProtect(app)
    app.extensions["intake"] = {
        "config": config, "jobs": jobs or Jobs(config),
        "pictures": Pictures(config.output_dir, Tools.installed(config.attachments.converters).soffice),
        "snapshots": Snapshots(config), "throttle_name": accounts.Throttle(limit=5),
        "throttle_address": accounts.Throttle(limit=30),
    }

    @app.before_request
    def _who():
        g.ledger = Ledger(config.ledger_path)
        g.user = None
        name = session.get("user")
        if name:
            g.user = accounts.from_session(g.ledger, name, session.get("pw", ""))
            if g.user is None:
                session.clear()
        if g.user is None and request.endpoint not in OPEN:
            if request.method == "GET" and not request.path.endswith((".json", ".png")):
                return redirect(url_for("console.login", next=request.full_path if request.query_string else request.path))
            return render_template("error.html", title="请先登录", text="登录已失效，请重新登录。"), 401
        return None

    @app.teardown_request
    def _close(_exc) -> None:
        ledger = g.pop("ledger", None)
        if ledger is not None:
            ledger.close()

    @app.after_request
    def _headers(response):
        response.headers.setdefault("Content-Security-Policy", POLICY)     # a download has its own
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.errorhandler(CSRFError)
    def _csrf(_exc):
        return render_template("error.html", title="请求已过期",
                               text="表单缺少有效的安全校验（CSRF）码，未做任何修改。请返回上一页刷新后重试。"), 400

    @app.errorhandler(403)
    def _forbidden(_exc):
        return render_template("error.html", title="无权操作", text="只读账号可以查看，不能修改。"), 403

    @app.errorhandler(404)
    def _missing(_exc):
        return render_template("error.html", title="未找到", text="没有这个页面或编号。"), 404

    @app.context_processor
    def _common() -> dict:
        return {"user": g.get("user"), "round_name": config.round.name}

    app.register_blueprint(console)
    return app


def new_secret() -> bytes:
    return secrets.token_bytes(32)
