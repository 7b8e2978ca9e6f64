"""The console's pages and actions. No logic of its own: the round is read through round/ (facts, the
assessment, the review list, the stats) and every change goes through round/review.py's `record`, the
function `intake review` calls, so that the console and the command line keep one audit trail."""
from __future__ import annotations

import email
import io
import json
import mimetypes
from collections import Counter
from collections.abc import Mapping
from datetime import date, datetime
from email import policy
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)

from .. import cage
from ..config import Config
from ..dates import SHANGHAI, BadDay, moment_text, parse_day
from ..filing import inside
from ..model import FLAG_LABELS, DocKind, Flag, ReceiptState, Status, Track
from ..outputs.export import export as export_round
from ..read.forms import field_names
from ..round import facts
from ..round import review as review_mod
from ..round.apply import reassess
from ..round.assess import Assessment, Verdict
from ..round.stats import SHORT_TRACK, TRACKS, summarise
from ..round.target import HANDLED, BadTarget, Entry, Kind, Target
from . import accounts
from .chart import chart
from .images import OFFICE, NoPages, Pictures
from .jobs import Jobs
from .snapshot import Snapshots

console = Blueprint("console", __name__)

RECEIPT_LABELS = {ReceiptState.HELD: "待全轮检查后发出", ReceiptState.QUEUED: "排队待发",
                  ReceiptState.SENDING: "正在发送", ReceiptState.SENT: "已发出", ReceiptState.SUPPRESSED: "不回复",
                  ReceiptState.FAILED: "被拒收"}
OUTCOME_LABELS = {"submission": "申报邮件", "ignored": "已忽略", "review": "待人工查看", "": "等待重试"}
RAW_HEAD = 64 * 1024          # the headers of a kept message, read no further
SHOWN_HEADERS = ("From", "Sender", "Reply-To", "To", "Cc", "Subject", "Date", "Message-ID", "In-Reply-To",
                 "Auto-Submitted", "Authentication-Results", "Received")


def _config() -> Config:
    return current_app.extensions["intake"]["config"]


def _jobs() -> Jobs:
    return current_app.extensions["intake"]["jobs"]


def _pictures() -> Pictures:
    return current_app.extensions["intake"]["pictures"]


def _assessment() -> Assessment:
    snapshots: Snapshots = current_app.extensions["intake"]["snapshots"]
    return snapshots.assessment(g.ledger)


def _may_change() -> None:
    """Checked on the server for every change: a viewer's form, however it was made, changes nothing."""
    if g.user is None or not g.user.may_change:
        abort(403)


def _state_mark() -> str:
    mark = g.ledger.state_mark(_config().round.name)
    return json.dumps([*mark, _jobs().busy], default=str)


@console.app_context_processor
def _page_state() -> dict:
    if g.get("user") is None:
        return {}
    return {"state_mark": _state_mark(), "job": _jobs().running, "job_error": _jobs().last_error}


# ---------------------------------------------------------------- accounts

@console.route("/login", methods=["GET", "POST"])
def login():
    ext = current_app.extensions["intake"]
    if request.method == "GET":
        return render_template("login.html", next=request.args.get("next", ""))
    name = (request.form.get("name") or "").strip()
    password = request.form.get("password") or ""
    keys = (f"name:{name}",), (f"address:{request.remote_addr}",)
    wait = max(ext["throttle_name"].wait(*keys[0]), ext["throttle_address"].wait(*keys[1]))
    if wait:
        return render_template("login.html", error=f"登录失败次数过多，请{max(1, wait // 60)}分钟后再试。", name=name), 429
    user = accounts.authenticate(g.ledger, name, password)
    if user is None:
        ext["throttle_name"].failed(*keys[0])
        ext["throttle_address"].failed(*keys[1])
        return render_template("login.html", error="用户名或密码不正确。", name=name), 401
    ext["throttle_name"].succeeded(keys[0][0])
    session.clear()
    session.permanent = True
    session["user"] = user.name
    session["pw"] = accounts.fingerprint(g.ledger.user(user.name)["password"])
    target = request.form.get("next") or ""
    # Only a path of this console: never an address elsewhere (an open redirect).
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        target = url_for("console.overview")
    elif request.script_root and not target.startswith(request.script_root):
        target = request.script_root + target
    return redirect(target)


@console.route("/logout", methods=["POST"])
def logout():
    session.clear()
    return redirect(url_for("console.login"))


@console.route("/state.json")
def state():
    return jsonify(mark=_state_mark(), job=_jobs().running, error=_jobs().last_error)


# ---------------------------------------------------------------- 总览

def _countdown(deadline: datetime, now: datetime) -> str:
    left = deadline - now
    if left.total_seconds() <= 0:
        return f"已于{moment_text(deadline)}截止"
    days, rest = divmod(int(left.total_seconds()), 86400)
    return f"距截止还有{days}天{rest // 3600}小时（{moment_text(deadline)}）"


@console.route("/")
def overview():
    cfg = _config()
    now = datetime.now(SHANGHAI)
    result = _assessment()
    mails = facts.mails(g.ledger, cfg.round.name, filed=())
    summary = summarise(cfg, result, mails, now)
    passes = g.ledger.passes(cfg.round.name)
    eventful = g.ledger.passes(cfg.round.name, eventful=True)
    waiting = facts.waiting(g.ledger, cfg.round.name)
    failed = [m for m in mails if m.error and m.outcome == "review"]
    receipts = {label: [m for m in mails if m.receipt_state == state]
                for state, label in ((ReceiptState.QUEUED, "排队待发"), (ReceiptState.HELD, "待全轮检查后发出"),
                                     (ReceiptState.FAILED, "被拒收"))}
    current = [v for v in result.current if v.status is not Status.REJECTED]
    return render_template(
        "overview.html", summary=summary, chart=chart(summary.lines), tracks=TRACKS, short_track=SHORT_TRACK,
        statuses=list(Status),
        countdown=_countdown(cfg.round.deadline, now), overdue=result.overdue,
        last_pass=_pass_view(passes[0]) if passes else None,
        last_eventful=_pass_view(eventful[0]) if eventful else None,
        waiting=waiting, failed=failed, receipts=receipts,
        paper=(sum(1 for v in current if v.paper is not None), len(current)),
        reconfirm_missing=[e for e in result.reconfirm if e.state != "applied"],
        audit_missing=[e for e in result.audit if e.state != "applied"])


def _pass_view(row) -> dict:
    report = json.loads(row["report"])
    ended = datetime.fromisoformat(row["ended_at"])
    parts = [f"收信{report.get('fetched', 0)}封", f"申报{report.get('submissions', 0)}封",
             f"忽略{report.get('ignored', 0)}封", f"待人工查看{report.get('review', 0)}封",
             f"重新处理{report.get('retried', 0)}封", f"发出回执{report.get('receipts_sent', 0)}封"]
    if report.get("deferred"):
        parts.append(f"暂缓{report['deferred']}封")
    return {"at": moment_text(ended), "command": row["command"], "text": "，".join(parts)}


# ---------------------------------------------------------------- 申报

def _problems(v: Verdict) -> list[str]:
    return [f.flag.label for f in v.findings if f.flag is not Flag.SENDER_AUTHENTICATED]


def _credit_code(v: Verdict) -> str:
    return str(v.fields.get("credit_code") or "")


def _matches(v: Verdict, q: str) -> bool:
    q = "".join(q.split()).upper()
    return not q or q in "".join(v.applicant.split()).upper() or q in _credit_code(v).upper()


@console.route("/applications")
def applications():
    cfg = _config()
    result = _assessment()
    args = request.args
    everyone = sorted(result.verdicts if args.get("all") else result.current, key=lambda v: (v.received_at, v.id))
    shown = [v for v in everyone
             if (not args.get("recommender") or v.recommender == args["recommender"])
             and (not args.get("track") or v.track.value == args["track"])
             and (not args.get("status") or v.status.value == args["status"])
             and (not args.get("problem") or args["problem"] in {f.flag.value for f in v.findings})
             and _matches(v, args.get("q", ""))]
    order = [r.name for r in cfg.recommenders]
    recommenders = sorted({v.recommender for v in result.verdicts}, key=lambda n: (order.index(n) if n in order else 99, n))
    problems = sorted({f.flag for v in result.verdicts for f in v.findings if f.flag is not Flag.SENDER_AUTHENTICATED},
                      key=list(Flag).index)
    return render_template("applications.html", rows=shown, total=len(everyone), args=args,
                           recommenders=recommenders, tracks=list(Track), statuses=list(Status),
                           problems=[(f.value, FLAG_LABELS[f]) for f in problems], problems_of=_problems,
                           target=Target.application, moment=moment_text)


def _verdict(number: int) -> Verdict:
    v = _assessment().verdict(number)
    if v is None:
        abort(404)
    return v


def _filed(v: Verdict) -> facts.Filed:
    found = [a for a in facts.applications(g.ledger, _config().round.name, only=[v.message]) if a.id == v.id]
    if not found:
        abort(404)
    return found[0]


def _history(target: Target) -> list[dict]:
    names = field_names(_config().templates_dir)
    out = []
    for c in g.ledger.corrections(_config().round.name):
        if c["target"] != str(target):
            continue
        value = json.loads(c["value"])
        out.append({"at": moment_text(datetime.fromisoformat(c["at"])), "by": c["by"],
                    "source": "网页控制台" if c["source"] == "web" else ("命令行" if c["source"] == "cli" else c["source"]),
                    "what": _change_text(c["field"], value, names)})
    return out


def _change_text(field: str, value: Any, names) -> str:
    if field == Entry.STATUS:
        status = str(value.get("status") if isinstance(value, dict) else value)
        return "核定为“" + (review_mod.HANDLED_LABEL if status == HANDLED else Status(status).label) + "”"
    if field == Entry.NOTE:
        return f"备注：{value}"
    if field == Entry.PAPER:
        return "纸质材料改为未收到" if value.get("undo") else f"纸质材料已收到（{value.get('on')}，{value.get('copies')}份）"
    if field == Entry.SENDER_OK:
        return "确认发件地址可代表推荐单位"
    if field == "track":
        return f"申报类别更正为“{Track(value).label}”"
    return f"{names.name(field)}更正为“{value}”"


def _field_rows(v: Verdict, filed: facts.Filed) -> list[dict]:
    names = field_names(_config().templates_dir)
    rows = []
    keys = ["applicant", "track"] + [f.key for f in names.fields if f.key not in ("unit_name", "track")]
    for key in keys:
        evidence_key = "unit_name" if key == "applicant" and "unit_name" in filed.field_evidence else key
        evidence = filed.field_evidence.get(evidence_key) or {}
        if key == "applicant":
            value: object = v.applicant
        elif key == "track":
            value = v.track.label
        else:
            value = v.fields.get(key)
        confidence = filed.field_confidence.get(evidence_key)
        rows.append({
            "key": key, "name": "申报单位名称" if key == "applicant" else names.name(key),
            "value": "" if value is None else value, "confidence": confidence,
            "low": isinstance(confidence, int | float) and confidence < _config().ocr.min_confidence,
            "corrected": v.corrected.get(key), "evidence": evidence,
            "crop": _drawable(evidence),
        })
    return rows


@console.route("/applications/<int:number>")
def application(number: int):
    cfg = _config()
    v = _verdict(number)
    filed = _filed(v)
    result = _assessment()
    versions = sorted([o for o in result.verdicts if o.superseded_by == v.id], key=lambda o: o.id)
    documents = [dict(d, index=i, label=DocKind(d["kind"]).label if d["kind"] in DocKind._value2member_map_ else d["kind"],
                      pages=_pictures().pages(data) if (data := _document_bytes(d)) is not None else 0)
                 for i, d in enumerate(filed.documents)]
    return render_template(
        "application.html", v=v, filed=filed, fields=_field_rows(v, filed), documents=documents,
        history=_history(Target.application(v.id)), versions=versions, target=Target.application,
        problems=[f for f in v.findings if f.flag is not Flag.SENDER_AUTHENTICATED], moment=moment_text,
        statuses=list(Status), tracks=list(Track), today=date.today().isoformat(), paper_copies=cfg.office.paper_copies,
        superseded_by=v.superseded_by, message=Target.message(v.message))


def _record(changes: list[review_mod.Change]) -> list[str]:
    cfg = _config()
    done = review_mod.record(g.ledger, cfg, changes, g.user.name, source="web")
    if done:
        # The round's verdicts now, the files later: LibreOffice never makes a clerk wait.
        reassess(cfg, g.ledger)
        _jobs().rebuild()
    return done


def _answer(done: list[str], back: str):
    for line in done:
        flash(line, "ok")
    if not done:
        flash("没有新的变化（与台账中已有记录相同）", "info")
    return redirect(back)


@console.route("/applications/<int:number>/correct", methods=["POST"])
def correct(number: int):
    _may_change()
    v = _verdict(number)
    target = Target.application(v.id)
    back = url_for("console.application", number=number)
    names = field_names(_config().templates_dir)
    changes = []
    try:
        for key, raw in request.form.items():
            if not key.startswith("f:"):
                continue
            key = key[2:]
            if key not in names.keys and key != "track":
                raise review_mod.ReviewError(f"字段“{key}”无法识别")
            current = v.track.label if key == "track" else (v.applicant if key == "applicant" else v.fields.get(key))
            if str(raw).strip() == ("" if current is None else str(current)).strip():
                continue
            changes.append(review_mod.Change(target, *review_mod.parse_field(key, raw, names)))
        note = (request.form.get("note") or "").strip()
        if note:
            changes.append(review_mod.Change(target, Entry.NOTE, note))
        done = _record(changes) if changes else []
    except review_mod.ReviewError as exc:
        flash(str(exc), "error")
        return redirect(back)
    return _answer(done, back)


def _decide(target: Target, back: str):
    _may_change()
    try:
        status = review_mod.parse_status(request.form.get("status", ""), target)
        changes = [review_mod.Change(target, Entry.STATUS, status)]
        note = (request.form.get("note") or "").strip()
        if note:
            changes.append(review_mod.Change(target, Entry.NOTE, note))
        done = _record(changes)
    except review_mod.ReviewError as exc:
        flash(str(exc), "error")
        return redirect(back)
    return _answer(done, back)


@console.route("/applications/<int:number>/decide", methods=["POST"])
def decide(number: int):
    v = _verdict(number)
    return _decide(Target.application(v.id), url_for("console.application", number=number))


@console.route("/applications/<int:number>/paper", methods=["POST"])
def paper(number: int):
    _may_change()
    cfg = _config()
    v = _verdict(number)
    back = url_for("console.application", number=number)
    try:
        if request.form.get("undo"):
            value: dict = {"undo": True}
        else:
            copies = (request.form.get("copies") or "").strip()
            if copies and (not copies.isdigit() or not 0 < int(copies) < 100):
                raise review_mod.ReviewError(f"份数应为1–99的整数，收到“{copies}”")
            value = {"copies": int(copies) if copies else cfg.office.paper_copies,
                     "on": parse_day(request.form.get("on") or date.today().isoformat(), cfg.round.deadline.year)}
        done = _record([review_mod.Change(Target.application(v.id), Entry.PAPER, value)])
    except (review_mod.ReviewError, BadDay) as exc:
        flash(f"纸质材料未登记：{exc}", "error")
        return redirect(back)
    return _answer(done, back)


# ---------------------------------------------------------------- documents and their pages

def _document_bytes(doc: Mapping) -> bytes | None:
    path = doc.get("path")
    if not path:
        return None
    try:
        return inside(_config().output_dir, *Path(path).parts).read_bytes()
    except (OSError, ValueError):
        return None


def _document(number: int, index: int) -> Mapping:
    filed = _filed(_verdict(number))
    if not 0 <= index < len(filed.documents):
        abort(404)
    return filed.documents[index]


def _png(data: bytes) -> Response:
    response = Response(data, mimetype="image/png")
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response


def _unavailable(text: str) -> Response:
    return Response(text, status=404, mimetype="text/plain; charset=utf-8")


@console.route("/applications/<int:number>/documents/<int:index>/pages/<int:page>.png")
def page_image(number: int, index: int, page: int):
    data = _document_bytes(_document(number, index))
    if data is None or page < 1:
        abort(404)
    try:
        return _png(_pictures().page(data, page - 1))
    except (NoPages, cage.CageError) as exc:
        return _unavailable(f"该页无法显示（{exc}）")


@console.route("/applications/<int:number>/documents/<int:index>/original")
def original(number: int, index: int):
    doc = _document(number, index)
    data = _document_bytes(doc)
    if data is None:
        abort(404)
    return _attachment(data, doc.get("filename") or Path(doc["path"]).name)


def _attachment(data: bytes | Path, name: str) -> Response:
    """A sender's file or a table, always as a download: never shown by the browser as a page."""
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if kind.startswith(("text/", "image/svg")) or "html" in kind or "xml" in kind:
        kind = "application/octet-stream"
    body = data if isinstance(data, Path) else io.BytesIO(data)
    response = send_file(body, mimetype=kind, as_attachment=True, download_name=name, max_age=0)
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def _drawable(e: Mapping) -> bool:
    """A box on a page of a PDF or a picture. A Word or Excel file's boxes are places in its grid of
    cells (and a photo inside one is not a page of it): its page images are LibreOffice's layout."""
    return bool(e.get("bbox") and e.get("page") and e.get("document")
                and Path(str(e["document"])).suffix.lower().lstrip(".") not in OFFICE)


@console.route("/applications/<int:number>/evidence/<key>.png")
def evidence_crop(number: int, key: str):
    filed = _filed(_verdict(number))
    e = filed.field_evidence.get(key) or {}
    if not _drawable(e):
        abort(404)
    doc = next((d for d in filed.documents if d.get("path") == e["document"]), None)
    data = _document_bytes(doc) if doc else None
    if data is None:
        abort(404)
    try:
        return _png(_pictures().crop(data, int(e["page"]) - 1, e["bbox"], e.get("label_bbox"), int(e.get("upright") or 0)))
    except (NoPages, cage.CageError) as exc:
        return _unavailable(f"无法截取（{exc}）")


# ---------------------------------------------------------------- 邮件

@console.route("/messages")
def messages():
    cfg = _config()
    result = _assessment()
    # Applications per email from the assessment already at hand, not by reading every filed row again.
    mails = facts.mails(g.ledger, cfg.round.name, filed=())
    counts = Counter(v.message for v in result.verdicts)
    waiting = {m.id for m in facts.waiting(g.ledger, cfg.round.name)}
    want = request.args.get("show", "")
    rows = []
    for m in reversed(mails):
        verdict = result.messages.get(m.id)
        duplicate = verdict is not None and verdict.duplicate_of is not None
        outcome = "重复邮件" if duplicate else OUTCOME_LABELS.get(m.outcome, m.outcome)
        failed = bool(m.error) and (m.outcome == "review" or m.id in waiting)
        if want == "failed" and not failed:
            continue
        if want == "review" and m.outcome != "review":
            continue
        rows.append({"m": m, "outcome": outcome, "failed": failed, "waiting": m.id in waiting, "apps": counts[m.id],
                     "receipt": RECEIPT_LABELS.get(m.receipt_state, "") if m.receipt_state else "无回执"})
    return render_template("messages.html", rows=rows, show=want, target=Target.message, moment=moment_text,
                           total=len(mails))


def _headers_of(m: facts.Mail) -> list[tuple[str, str]]:
    if not m.raw_path:
        return []
    try:
        path = inside(_config().output_dir, *Path(m.raw_path).parts) if not Path(m.raw_path).is_absolute() else Path(m.raw_path)
        with open(path, "rb") as f:
            head = f.read(RAW_HEAD)
    except (OSError, ValueError):
        return []
    head = head.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    parsed = email.message_from_bytes(head + b"\n\n", policy=policy.default)
    out = []
    for name in SHOWN_HEADERS:
        for value in parsed.get_all(name, []) or []:
            try:
                text = str(value)
            except (ValueError, LookupError):
                text = "（无法解码）"
            out.append((name, " ".join(text.split())[:2000]))
    return out


@console.route("/messages/<int:number>")
def message(number: int):
    cfg = _config()
    m = facts.mail(g.ledger, number)
    if m is None or m.round != cfg.round.name:
        abort(404)
    result = _assessment()
    verdict = result.messages.get(m.id)
    apps = [v for v in result.verdicts if v.message == m.id]
    return render_template("message.html", m=m, verdict=verdict, apps=apps, headers=_headers_of(m),
                           outcome=OUTCOME_LABELS.get(m.outcome, m.outcome), target=Target,
                           receipt=RECEIPT_LABELS.get(m.receipt_state, "") if m.receipt_state else "无回执",
                           history=_history(Target.message(m.id)), moment=moment_text,
                           can_retry=bool(m.raw_path))


@console.route("/messages/<int:number>/retry", methods=["POST"])
def retry(number: int):
    _may_change()
    cfg = _config()
    m = facts.mail(g.ledger, number)
    if m is None or m.round != cfg.round.name:
        abort(404)
    back = url_for("console.message", number=number)
    if not m.raw_path:
        g.ledger.refetch(m.id)
        flash(f"{Target.message(m.id)}：原始邮件未曾保存，下次收信时将重新从邮箱读取", "info")
        return redirect(back)
    _jobs().rerun((m.id,))
    flash(f"已开始重新处理 {Target.message(m.id)}，完成后本页自动刷新", "ok")
    return redirect(back)


@console.route("/messages/<int:number>/decide", methods=["POST"])
def message_decide(number: int):
    return _decide(Target.message(number), url_for("console.message", number=number))


# ---------------------------------------------------------------- 轮次事项

@console.route("/items")
def items():
    cfg = _config()
    result = _assessment()
    listing = review_mod.build(result, facts.mails(g.ledger, cfg.round.name, filed=()), cfg, datetime.now(SHANGHAI),
                               facts.waiting(g.ledger, cfg.round.name))
    rows = [i for i in listing.items if not i.target.startswith("A")]
    return render_template("items.html", rows=rows, listing=listing, applications=sum(1 for i in listing.items
                                                                                      if i.target.startswith("A")))


@console.route("/items/<target>/decide", methods=["POST"])
def item_decide(target: str):
    try:
        parsed = Target.parse(target)
    except BadTarget:
        abort(404)
    if parsed.is_application:
        abort(404)
    on_message_page = parsed.kind is Kind.MESSAGE and request.form.get("back") != "items"
    return _decide(parsed, url_for("console.message", number=parsed.number) if on_message_page else url_for("console.items"))


# ---------------------------------------------------------------- 下载

def _round_folder() -> Path:
    cfg = _config()
    return inside(cfg.output_dir, cfg.round.name)


def _downloads() -> list[tuple[str, list[Path]]]:
    folder = _round_folder()
    if not folder.is_dir():
        return []
    groups: dict[str, list[Path]] = {}
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.name.startswith(".") or path.suffix.lower() not in (".docx", ".xlsx", ".pdf"):
            continue
        rel = path.relative_to(folder)
        if len(rel.parts) == 1:
            groups.setdefault("全省", []).append(rel)
        elif len(rel.parts) == 2:    # a recommender's own 附件2; its applicants' files are on their pages
            groups.setdefault(rel.parts[0], []).append(rel)
    return sorted(groups.items(), key=lambda kv: (kv[0] != "全省", kv[0]))


@console.route("/downloads")
def downloads():
    return render_template("downloads.html", groups=_downloads())


@console.route("/downloads/file/<path:name>")
def download(name: str):
    wanted = Path(name)
    known = {rel for _, files in _downloads() for rel in files}
    if wanted not in known:         # only what the list offers: no path of the sender's choosing
        abort(404)
    return _attachment(_round_folder() / wanted, wanted.name)


@console.route("/downloads/待处理.xlsx")
def review_workbook():
    cfg = _config()
    listing = review_mod.build(_assessment(), facts.mails(g.ledger, cfg.round.name, filed=()), cfg,
                               datetime.now(SHANGHAI), facts.waiting(g.ledger, cfg.round.name))
    return _attachment(review_mod.review_xlsx(listing), "待处理.xlsx")


@console.route("/downloads/export.json")
def export_json():
    cfg = _config()
    data = json.dumps(export_round(g.ledger, cfg.round.name), ensure_ascii=False, indent=2).encode("utf-8")
    return _attachment(data, f"{cfg.round.name}.json")

