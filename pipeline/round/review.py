"""The clerk's review list: what needs a person, why, and what to do; and the clerk's answers.

`build` (pure) turns the round assessment into the list; `review_xlsx` writes it as 待处理.xlsx with
columns a clerk fills in; `read_workbook` (pure) reads those columns back as changes; `parse_*`
turn what a clerk typed (Chinese labels or codes) into values. Recording goes through the ledger's
corrections table; round/apply.py applies them.
"""
from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from openpyxl import load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from ..config import Config
from ..dates import BadDay, moment_text, parse_day
from ..model import Finding, Flag, ReceiptState, Status, Track
from ..outputs.sheets import BORDER, FONT, HEAD_FILL, fit_rows, print_setup, text_cell, workbook
from ..read.forms import FieldNames, field_names
from . import facts
from .apply import assessment
from .assess import (
    Assessment,
    ListEntry,
    MissingForm,
    Verdict,
    missing_form_finding,
    round_item_state,
)
from .facts import Mail
from .target import HANDLED, BadTarget, Entry, Kind, Target

# What the clerk can do about each flag. {id} is the application's number as `intake review` takes it.
ACTIONS: dict[Flag, str] = {
    Flag.UNKNOWN_SENDER: "核实发件人；如为推荐单位，在 inbox_rules.yaml 的 recommenders 中补充其邮箱",
    Flag.UNVERIFIED_SENDER: ("电话向推荐单位核实该邮件；属实的按问题说明中的命令确认发件地址（个人邮箱今后也认可：加 "
                             "--remember-sender），冒用的核定为不予受理（intake review set {id} --status rejected）"),
    Flag.MISSING_RECOMMENDATION_LETTER: "请推荐单位补发推荐函",
    Flag.MISSING_APPLICATION_FORM: "请推荐单位补发申请表",
    Flag.LATE: "逾期报送，按通知不予受理；如确属邮件系统延误，可人工核定（intake review set {id} --status accepted --note 原因）",
    Flag.QUOTA_EXCEEDED: ("与推荐单位确认保留哪一个；不保留的核定为不予受理（intake review set {id} --status rejected），"
                          "名额随之重算"),
    Flag.DUPLICATE_APPLICANT: "与涉及的推荐单位联系，确认由哪一方推荐；其余核定为不予受理",
    Flag.NOT_ON_RECONFIRM_LIST: "核对附件3名单；若仅名称写法不同，更正申报单位名称（intake review set {id} 申报单位名称=…）",
    Flag.NOT_ON_AUDIT_LIST: "核对附件4名单；若仅名称写法不同，更正申报单位名称（intake review set {id} 申报单位名称=…）",
    Flag.INVALID_CREDIT_CODE: "对照申请表原件核对并更正（intake review set {id} 统一社会信用代码=…）",
    Flag.LOW_CONFIDENCE: "对照申请表原件核对，并更正有误的字段（intake review set {id} 字段=值）",
    Flag.UNREADABLE_ATTACHMENT: "请发件人重新发送可打开的文件（PDF 为宜）",
    Flag.CLOUD_ATTACHMENT_LINK: "请发件人将材料作为邮件附件直接发送",
}
DECIDE = "核实后核定：intake review set {id} --status accepted（或 rejected）"
DONE = "处理完毕后：intake review set {id} --status handled --note 处理情况"
# What the office does about a unit of the 附件3/附件4 list that has not applied (通知三（三）、三（四）、四（六）).
LIST_ACTIONS = {
    ("附件3", "before"): "提醒该基地于截止时间前申请重新确认；未按时申请的，不再保留省级继续教育基地资格",
    ("附件3", "after"): "逾期未申请重新确认：按通知三（三），不再保留省级继续教育基地资格；报处领导，并告知该基地",
    ("附件4", "before"): "提醒该机构于截止时间前报送《山东省专业技术人员培训机构审验表》（附件5）",
    ("附件4", "after"): "逾期未报送审验表（附件5）：按通知“逾期不再受理”，不予审验；报处领导确定处理意见，并告知该机构",
}
STATUS_WORDS: dict[str, str] = {
    "accepted": Status.ACCEPTED.value, "已受理": Status.ACCEPTED.value, "受理": Status.ACCEPTED.value,
    "needs_review": Status.NEEDS_REVIEW.value, "待核实": Status.NEEDS_REVIEW.value,
    "rejected": Status.REJECTED.value, "不予受理": Status.REJECTED.value,
    "handled": HANDLED, "已处理": HANDLED,
}
HANDLED_LABEL = "已处理"


class ReviewError(ValueError):
    """Something a clerk typed that cannot be recorded; the message is Chinese and says why."""


# ---------------------------------------------------------------- the list

@dataclass(frozen=True)
class Item:
    target: str                 # A<n> | M<n> | R<n> / S<n> (附件3/附件4) | F<message>-<k> (named without a form)
    category: str               # 申请 | 邮件 | 回执 | 缺申请表 | 附件3 | 附件4
    recommender: str
    what: str                   # the applicant, or the email's subject
    track: str
    received: str
    status: str
    problems: tuple[str, ...]
    actions: tuple[str, ...]
    notes: tuple[str, ...] = ()
    decision: str = ""          # the clerk's standing decision, as a label


@dataclass(frozen=True)
class PaperLine:
    target: str
    recommender: str
    applicant: str
    track: str
    status: str
    received: str               # the clerk's "arrived on", empty while missing
    copies: int


@dataclass(frozen=True)
class HistoryLine:
    recommender: str
    applicant: str
    versions: tuple[str, ...]   # "A3 2019年9月10日 10:15 已被替换", …


@dataclass(frozen=True)
class ReviewList:
    round_name: str
    generated: str
    items: tuple[Item, ...]
    paper: tuple[PaperLine, ...]
    history: tuple[HistoryLine, ...]
    duplicates: tuple[str, ...]
    warnings: tuple[str, ...] = field(default=())

    @property
    def paper_missing(self) -> tuple[PaperLine, ...]:
        return tuple(p for p in self.paper if not p.received)


def _waiting_item(m: Mail) -> Item:
    """A message a passing fault (full disk, locked ledger, dead worker) holds back: it is retried by itself."""
    when = f"，将于{moment_text(m.waiting_until)}自动重试" if m.waiting_until else "，将自动重试"
    number = str(Target.message(m.id))
    return Item(number, "邮件", m.recommender, m.subject or "（尚未读取）", "", moment_text(m.received_at),
                "等待重试", (f"暂未处理完：{m.error}（已尝试{m.attempts}次{when}）",),
                (f"排除故障（磁盘空间、目录权限等）后可立即重新处理：intake retry {number}",))


def _actions(findings: Sequence[Finding], target: str) -> tuple[str, ...]:
    out = [ACTIONS[f.flag].format(id=target) for f in findings if f.flag in ACTIONS]
    out.append(DECIDE.format(id=target))
    return tuple(dict.fromkeys(out))


def _reopened(item: MissingForm | ListEntry) -> tuple[str, ...]:
    d = item.decision
    if d is None or not d.stale:
        return ()
    return (f"已于{d.at[:10]}处理（{d.by}），之后情况有变（如截止时间已过），请再处理",)


def _decision_label(v: Verdict) -> str:
    if v.decision is None:
        return ""
    label = Status(v.decision.status).label if v.decision.status in Status._value2member_map_ else HANDLED_LABEL
    return f"{label}（{v.decision.by}，{v.decision.at[:10]}）"


def build(result: Assessment, mails: Sequence[Mail], config: Config, now: datetime,
          waiting: Sequence[Mail] = ()) -> ReviewList:
    items: list[Item] = [_waiting_item(m) for m in waiting]
    by_id = {m.id: m for m in mails}
    for m in mails:
        verdict = result.messages.get(m.id)
        if verdict is None or verdict.duplicate_of is not None or verdict.decision is not None:
            continue
        blocking = [f for f in m.findings if f.flag in config.review_flags | config.rejected_flags]
        number = str(Target.message(m.id))
        if m.outcome == "review" or (m.outcome == "submission" and not m.applications and blocking):
            problems: tuple[str, ...] = (m.reason,) if m.reason else ()
            problems += tuple(f.text() for f in m.findings)
            actions: tuple[str, ...] = (f"查看原始邮件 {m.raw_path}，人工处理",) if m.outcome == "review" and m.raw_path else ()
            if m.error:
                actions += (f"原因排除后重新处理：intake retry {number}",)
            actions += _actions(blocking, number)[:-1]
            actions += (DONE.format(id=number),)
            items.append(Item(number, "邮件", verdict.recommender or m.recommender, m.subject or "（无标题）", "",
                              moment_text(m.received_at), "待人工查看", problems, actions,
                              tuple(n.text for n in verdict.notes)))
        elif m.receipt_state == ReceiptState.FAILED:
            # Refused for good (no such mailbox, blocked): the sender does not know the office has the mail.
            items.append(Item(number, "回执", verdict.recommender or m.recommender, m.subject or "（无标题）", "",
                              moment_text(m.received_at), "回执未能发出",
                              (f"回执邮件被拒收：{m.receipt_reason}",),
                              (f"核对发件人地址 {m.sender}，电话或另行邮件告知已收到",
                               DONE.format(id=number)), tuple(n.text for n in verdict.notes)))
    for v in sorted(result.current, key=lambda v: (v.received_at, v.id)):
        stale = v.decision is not None and v.decision.stale
        if v.status is Status.ACCEPTED and not stale:
            continue
        if v.decision is not None and not stale and v.decision.status != Status.NEEDS_REVIEW.value:
            continue                # the clerk has decided; nothing new has come up since
        # 待核实 is the clerk asking for a check, not a decision taken: it stays on the list, with the note.
        problems = tuple(f.text() for f in v.findings)
        if stale and v.decision is not None:
            problems = (f"人工核定（{v.decision.by}，{v.decision.at[:10]}）之后出现新问题，请重新核定",) + problems
        number = str(Target.application(v.id))
        items.append(Item(number, "申请", v.recommender, v.applicant, v.track.label,
                          moment_text(v.received_at), v.status.label, problems,
                          _actions(v.findings, number), tuple(n.text for n in v.notes), _decision_label(v)))
    for mf in result.missing_forms:
        if mf.decision is not None and not mf.decision.stale:
            continue
        message = by_id.get(mf.message)
        action = (f"请{mf.recommender}补发“{mf.name}”的申请表" if not result.overdue
                  else "截止时间已过，告知推荐单位该单位未完成申报")
        items.append(Item(str(mf.target), "缺申请表", mf.recommender, mf.name, mf.track.label if mf.track else "",
                          moment_text(message.received_at) if message else "", "未收到申请表",
                          _reopened(mf) + (missing_form_finding(mf, result.overdue).text(),),
                          (action, DONE.format(id=mf.target)), tuple(n.text for n in mf.notes)))
    for category, entries, missing_text in (("附件3", result.reconfirm, "未申请重新确认"),
                                            ("附件4", result.audit, "未报送审验表")):
        for e in entries:
            if e.state == "applied" or (e.decision is not None and not e.decision.stale):
                continue
            if e.state == "late":
                late = result.verdict(e.application) if e.application is not None else None
                applied = Target.application(late.id) if late else None
                text = f"逾期申请（{applied}，{moment_text(late.received_at)}送达）" if late else "逾期申请"
                actions = (f"逾期不再受理；如确属邮件系统延误，可人工核定（intake review set {applied}"
                           " --status accepted --note 原因）",)
            else:
                text = "已逾期，" + missing_text if result.overdue else missing_text
                actions = (LIST_ACTIONS[(category, "after" if result.overdue else "before")],)
            items.append(Item(str(e.target), category, "", e.name,
                              Track.RECONFIRM.label if category == "附件3" else Track.AUDIT.label, "",
                              "逾期" if result.overdue or e.state == "late" else "未申请", _reopened(e) + (text,),
                              actions + (DONE.format(id=e.target),), tuple(n.text for n in e.notes)))

    paper = tuple(PaperLine(str(Target.application(v.id)), v.recommender, v.applicant, v.track.label, v.status.label,
                            v.paper.on or v.paper.at[:10] if v.paper else "", v.paper.copies if v.paper else 0)
                  for v in sorted(result.current, key=lambda v: (v.recommender, v.received_at, v.id))
                  if v.status is not Status.REJECTED)
    history = []
    chains: dict[int, list[Verdict]] = {}
    heads = {v.id: v for v in result.verdicts}
    for v in result.verdicts:
        if v.superseded_by is not None:
            chains.setdefault(v.superseded_by, []).append(v)
    for head_id, old in chains.items():
        head = heads[head_id]
        versions = [f"{Target.application(o.id)} {moment_text(o.received_at)} 已被替换"
                    for o in sorted(old, key=lambda o: o.id)]
        versions.append(f"{Target.application(head.id)} {moment_text(head.received_at)} 现行（{head.status.label}）")
        history.append(HistoryLine(head.recommender, head.applicant, tuple(versions)))
    duplicates = tuple(
        f"{Target.message(m)} 《{by_id[m].subject}》 {moment_text(by_id[m].received_at)} "
        f"与 {Target.message(o)}（{moment_text(by_id[o].received_at)}）相同，未再处理"
        for m, o in sorted(result.duplicates.items()) if m in by_id and o in by_id)
    warnings = tuple(f"更正记录指向不存在的编号 {c.target}（{c.field}，{c.by}）" for c in result.unknown_targets)
    waiting = [m for m in mails if m.receipt_state == ReceiptState.QUEUED and m.receipt_reason]
    if waiting:  # the SMTP server is down or refuses the office's login: every receipt waits
        warnings += (f"{len(waiting)}封回执暂未发出，将自动重试（{waiting[-1].receipt_reason}）",)
    return ReviewList(config.round.name, f"{now:%Y-%m-%d %H:%M}", tuple(items), paper, tuple(history), duplicates,
                      warnings)


def text(review: ReviewList) -> str:
    out = [f"{review.round_name} 待处理事项（{review.generated}）：共{len(review.items)}项", ""]
    for item in review.items:
        head = f"[{item.target}] " if item.target else ""
        where = f"{item.recommender} / " if item.recommender else ""
        track = f"（{item.track}）" if item.track else ""
        out.append(f"{head}{item.category}：{where}{item.what}{track} — {item.status}")
        for p in item.problems:
            out.append(f"    问题：{p}")
        for n in item.notes:
            out.append(f"    备注：{n}")
        for a in item.actions:
            out.append(f"    处理：{a}")
    if not review.items:
        out.append("（暂无需要处理的事项）")
    missing = review.paper_missing
    out.append("")
    # Counted in applications: each posts its copies (一式三份) together.
    out.append(f"纸质材料：{len(review.paper) - len(missing)}/{len(review.paper)}个申请已收到"
               + ("；尚未收到：" + "、".join(f"{p.target} {p.applicant}" for p in missing) if missing else ""))
    if missing:
        out.append(f"    收到后登记：intake review paper {' '.join(p.target for p in missing[:3])}"
                   + (" …" if len(missing) > 3 else ""))
    if review.history:
        out.append("")
        out.append("重新报送记录：")
        for h in review.history:
            out.append(f"  {h.recommender} / {h.applicant}：{'；'.join(h.versions)}")
    if review.duplicates:
        out.append("")
        out.append("重复邮件（未再处理、未再回执）：")
        out += [f"  {d}" for d in review.duplicates]
    for w in review.warnings:
        out.append(f"注意：{w}")
    return "\n".join(out)


# ---------------------------------------------------------------- 待处理.xlsx

SHEET_ITEMS = "待处理"
SHEET_PAPER = "纸质材料"
SHEET_HISTORY = "历次报送"
# (header, width, filled in by the clerk). Thirteen columns on one landscape page at ≥ 9 pt
# (sheets.printed_size): the long texts wrap in their rows rather than widen the page.
ITEM_COLUMNS = (("编号", 6, False), ("类别", 6, False), ("推荐单位", 12, False), ("申报单位/邮件", 14, False),
                ("申报类别", 10, False), ("送达时间", 10, False), ("当前状态", 8, False), ("问题", 22, False),
                ("处理建议", 20, False), ("已有备注", 8, False),
                ("核定状态", 8, True), ("更正（字段=值，多项用；分隔）", 12, True), ("备注", 9, True))
PAPER_COLUMNS = (("编号", 7, False), ("推荐单位", 22, False), ("申报单位", 30, False), ("申报类别", 18, False),
                 ("受理状态", 10, False), ("收到日期", 14, True), ("份数", 7, True))
_BODY_PT = 10.5
_INPUT = PatternFill("solid", fgColor="FFF2CC")     # the columns the clerk fills in


def _sheet(ws, title: str, columns, rows: Sequence[Sequence[object]], note: str) -> None:
    cell = text_cell(ws, 1, 1, title)
    cell.font = Font(name=FONT, size=14, bold=True)
    cell.alignment = Alignment(wrap_text=True, vertical="center")
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(columns))
    cell = text_cell(ws, 2, 1, note)
    cell.font = Font(name=FONT, size=_BODY_PT)
    cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=len(columns))
    for col, (header, width, editable) in enumerate(columns, start=1):
        cell = text_cell(ws, 3, col, header)
        cell.font = Font(name=FONT, size=_BODY_PT, bold=True)
        cell.fill = _INPUT if editable else HEAD_FILL
        cell.border = BORDER
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.column_dimensions[get_column_letter(col)].width = width
    for r, values in enumerate(rows, start=4):
        for col, value in enumerate(values, start=1):
            cell = text_cell(ws, r, col, value)
            cell.font = Font(name=FONT, size=_BODY_PT)
            cell.border = BORDER
            cell.alignment = Alignment(vertical="top", wrap_text=True)
            if columns[col - 1][2]:
                cell.fill = _INPUT
    fit_rows(ws)
    ws.freeze_panes = "B4"
    print_setup(ws, repeat="3:3")


def review_xlsx(review: ReviewList) -> bytes:
    wb = workbook()
    ws = wb.active
    ws.title = SHEET_ITEMS
    rows = [[i.target, i.category, i.recommender, i.what, i.track, i.received, i.status, "\n".join(i.problems),
             "\n".join(i.actions), "\n".join(i.notes), "", "", ""]
            for i in review.items]
    _sheet(ws, f"{review.round_name} 待处理事项（{review.generated}）", ITEM_COLUMNS, rows,
           "黄色各列可填写：核定状态（已受理/待核实/不予受理；邮件填“已处理”）、更正（如：近三年年均培训人数=3200；"
           "统一社会信用代码=…）、备注。保存后运行 intake review import 本文件 --by 姓名。")
    status_choices = DataValidation(type="list", formula1='"已受理,待核实,不予受理,已处理"', allow_blank=True)
    ws.add_data_validation(status_choices)
    if rows:
        status_choices.add(f"K4:K{3 + len(rows)}")

    paper = wb.create_sheet(SHEET_PAPER)
    _sheet(paper, f"纸质材料（申请表一式三份）：{len(review.paper) - len(review.paper_missing)}/{len(review.paper)}个申请已收到",
           PAPER_COLUMNS,
           [[p.target, p.recommender, p.applicant, p.track, p.status, p.received, str(p.copies) if p.copies else ""]
            for p in review.paper],
           "收到纸质材料后填写收到日期（如 2019-09-20）与份数，再运行 intake review import；"
           "或直接运行 intake review paper 编号。")

    history = wb.create_sheet(SHEET_HISTORY)
    rows = [[h.recommender, h.applicant, "\n".join(h.versions)] for h in review.history]
    rows += [["", "重复邮件", d] for d in review.duplicates]
    _sheet(history, "重新报送与重复邮件", (("推荐单位", 24, False), ("申报单位", 30, False), ("记录", 70, False)),
           rows or [["", "", "（无）"]], "同一推荐单位就同一申报单位再次报送的，以最后一次为准；完全相同的邮件只处理一次。")
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# ---------------------------------------------------------------- what the clerk typed

@dataclass(frozen=True)
class Change:
    target: Target
    field: str                  # a field key, applicant, track, status, note, paper
    value: Any                  # as the field takes it: a number, a text, a Status value, {"on", "copies"}…


_TRACK_WORDS = {**{t.value: t for t in Track}, **{t.label: t for t in Track},
                "省级基地": Track.GENERAL, "乡村振兴": Track.RURAL, "乡村振兴专项": Track.RURAL,
                "重新确认": Track.RECONFIRM, "审验": Track.AUDIT}


def parse_target(text: str) -> Target:
    try:
        return Target.parse(text or "")
    except BadTarget as exc:
        raise ReviewError(str(exc)) from None


def parse_status(text: str, target: Target) -> str:
    value = STATUS_WORDS.get(str(text).strip())
    if value is None:
        raise ReviewError(f"状态“{text}”无法识别：可用 已受理/待核实/不予受理（accepted/needs_review/rejected）"
                          + ("，邮件或名单事项用 已处理（handled）" if not target.is_application else ""))
    if target.is_application == (value == HANDLED):
        raise ReviewError("邮件、缺申请表和名单事项只能核定为“已处理”（handled）；申请核定为 已受理/待核实/不予受理"
                          if not target.is_application else "申请核定为 已受理/待核实/不予受理；“已处理”用于邮件和名单事项")
    return value


def parse_field(name: str, raw: str, fields: FieldNames) -> tuple[str, object]:
    """“近三年年均培训人数=3200” or “avg_trainees=3200” → (avg_trainees, 3200). The names, synonyms and
    types are the form definition's (templates/forms/annex1.yaml), as the reader uses them."""
    name = name.strip().rstrip("：:")
    key = fields.key_for(name)
    if key is None:
        raise ReviewError(f"字段“{name}”无法识别；可用：{'、'.join(f.name for f in fields.fields)}")
    if key == "unit_name":
        key = "applicant"
    spec = fields.spec(key)
    kind = spec.type if spec else "text"
    label = fields.name(key)
    value = raw.strip()
    if key == "track":
        track = _TRACK_WORDS.get(value)
        if track is None:
            raise ReviewError(f"申报类别“{value}”无法识别；可用：{'、'.join(t.label for t in Track)}")
        return key, track.value
    if kind == "int":
        digits = value.replace(",", "").replace("，", "")
        if not digits.isdigit():
            raise ReviewError(f"{label}应为整数，收到“{value}”")
        return key, int(digits)
    if kind == "number":
        try:
            number = float(value.replace(",", ""))
        except ValueError:
            raise ReviewError(f"{label}应为数字，收到“{value}”") from None
        return key, int(number) if number.is_integer() else number
    if kind == "credit_code":
        value = re.sub(r"\s+", "", value).upper()
    if not value:
        raise ReviewError(f"{label}不能为空")
    return key, value


def parse_assignments(text: str, fields: FieldNames) -> list[tuple[str, object]]:
    """“字段=值；字段=值” as typed in the 更正 column (； ; or a new line between them)."""
    out = []
    for part in re.split(r"[；;\n]+", text or ""):
        if not part.strip():
            continue
        name, sep, value = part.replace("＝", "=").partition("=")
        if not sep:
            raise ReviewError(f"更正“{part.strip()}”应写成 字段=值")
        out.append(parse_field(name, value, fields))
    return out


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d}"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_workbook(data: bytes, year: int, fields: FieldNames) -> tuple[list[Change], list[str]]:
    """The changes a clerk made in 待处理.xlsx, and a Chinese problem per row that could not be read.
    Days may be written as people write them (9月21日 is in `year`, the round's)."""
    try:
        # Not data_only: a note a clerk began with "=" is what they typed, not a formula's cached result.
        wb = load_workbook(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - openpyxl raises several unrelated types for a file that is no workbook
        raise ReviewError(f"无法打开该文件（{type(exc).__name__}），请确认是 intake 生成的 待处理.xlsx") from None
    if SHEET_ITEMS not in wb.sheetnames:
        raise ReviewError(f"文件中没有“{SHEET_ITEMS}”工作表，请使用 intake review 生成的 待处理.xlsx")
    changes: list[Change] = []
    problems: list[str] = []
    ws = wb[SHEET_ITEMS]
    headers = [_cell(c.value) for c in ws[3]]
    col = {h: i for i, h in enumerate(headers)}
    for number, row in enumerate(ws.iter_rows(min_row=4, values_only=True), start=4):
        values = [_cell(v) for v in row]
        raw_target = values[col["编号"]] if "编号" in col and col["编号"] < len(values) else ""
        if not raw_target:
            continue
        try:
            target = parse_target(raw_target)
            status = values[col["核定状态"]] if "核定状态" in col else ""
            if status:
                changes.append(Change(target, Entry.STATUS, parse_status(status, target)))
            fixes = values[col[ITEM_COLUMNS[11][0]]] if ITEM_COLUMNS[11][0] in col else ""
            if fixes:
                if not target.is_application:
                    raise ReviewError("只有申请（A…）有可更正的字段，其他事项请在备注中说明")
                changes += [Change(target, k, v) for k, v in parse_assignments(fixes, fields)]
            note = values[col["备注"]] if "备注" in col else ""
            if note:
                changes.append(Change(target, Entry.NOTE, note))
        except ReviewError as exc:
            problems.append(f"“{SHEET_ITEMS}”第{number}行（{raw_target}）：{exc}")
    if SHEET_PAPER in wb.sheetnames:
        ws = wb[SHEET_PAPER]
        headers = [_cell(c.value) for c in ws[3]]
        col = {h: i for i, h in enumerate(headers)}
        for number, row in enumerate(ws.iter_rows(min_row=4, values_only=True), start=4):
            values = [_cell(v) for v in row]
            if not values or not values[0] or "收到日期" not in col:
                continue
            on = row[col["收到日期"]]
            if on in (None, ""):
                continue
            try:
                copies = values[col["份数"]] if "份数" in col else ""
                changes.append(Change(parse_target(values[0]), Entry.PAPER,
                                      {"copies": int(copies) if copies.isdigit() else 0, "on": parse_day(on, year)}))
            except (ReviewError, BadDay) as exc:
                problems.append(f"“{SHEET_PAPER}”第{number}行（{values[0]}）：{exc}")
    return changes, problems


def new_changes(changes: Sequence[Change], result: Assessment, paper_copies: int) -> list[Change]:
    """Only what differs from what the ledger already says: importing the same file twice records nothing."""
    out = []
    for c in changes:
        if c.target.is_application:
            v = result.verdict(c.target.number)
            if v is None:
                out.append(c)
                continue
            if c.field == Entry.STATUS and v.decision is not None and v.decision.status == c.value and not v.decision.stale:
                continue
            if c.field == Entry.NOTE and v.notes and v.notes[-1].text == c.value:
                continue
            if c.field == Entry.PAPER and c.value.get("undo"):
                if v.paper is None:
                    continue
            elif c.field == Entry.PAPER:
                value = {**c.value, "copies": c.value.get("copies") or paper_copies}
                if v.paper is not None and v.paper.on == value["on"] and v.paper.copies == value["copies"]:
                    continue
                c = Change(c.target, Entry.PAPER, value)
            if c.field not in (Entry.STATUS, Entry.NOTE, Entry.PAPER, Entry.SENDER_OK) and _current(v, c.field) == c.value:
                continue
        elif c.target.kind is Kind.MESSAGE:
            m = result.messages.get(c.target.number)
            if m is not None and c.field == Entry.STATUS and m.decision is not None:
                continue
            if m is not None and c.field == Entry.NOTE and m.notes and m.notes[-1].text == c.value:
                continue
        else:
            item = result.round_item(c.target)
            if item is not None and c.field == Entry.STATUS and item.decision is not None and not item.decision.stale:
                continue
            if item is not None and c.field == Entry.NOTE and item.notes and item.notes[-1].text == c.value:
                continue
        out.append(c)
    return out


def _current(v: Verdict, key: str) -> object:
    if key == "applicant":
        return v.applicant
    if key == "track":
        return v.track.value
    return v.fields.get(key)


def status_snapshot(v: Verdict | None, config: Config) -> list[str]:
    """The blocking flags a clerk's decision answers: a new one later re-opens the item."""
    if v is None:
        return []
    return sorted({f.flag.value for f in v.findings} & {f.value for f in config.review_flags | config.rejected_flags})


# ---------------------------------------------------------------- recording (through the ledger)

def record(ledger, config: Config, changes: Sequence[Change], by: str, source: str = "cli") -> list[str]:
    """Keep the clerk's changes in the ledger (who, when, from where); returns what was recorded, in
    Chinese. Refuses the whole batch, recording nothing, when one change names an unknown number."""
    result = assessment(config, ledger)
    for c in changes:
        if not _exists(c.target, result):
            raise ReviewError(f"本轮次（{config.round.name}）没有编号为 {c.target} 的{c.target.kind.label}；"
                              "编号见 intake review 的列表")
        if c.field == Entry.PAPER and not c.target.is_application:
            raise ReviewError("纸质材料按申请登记，请使用申请编号（A…）")
        if c.field == Entry.SENDER_OK and c.target.kind is not Kind.MESSAGE:
            raise ReviewError("发件地址的确认按邮件登记，请使用邮件编号（M…）")
        if c.field not in (Entry.STATUS, Entry.NOTE, Entry.PAPER, Entry.SENDER_OK) and not c.target.is_application:
            raise ReviewError(f"{c.target} 没有可更正的字段；可用 --status handled 或 --note")
    done = []
    names = field_names(config.templates_dir)
    for c in new_changes(changes, result, config.office.paper_copies):
        value = c.value
        if c.field == Entry.SENDER_OK:
            # What is confirmed: this address, for the recommender this email is filed under.
            m = facts.mail(ledger, c.target.number)
            value = {"address": (m.sender or "") if m else "", "recommender": m.recommender if m else "",
                     "remember": bool(c.value)}
        if c.field == Entry.STATUS and c.target.is_application:
            value = {"status": c.value, "flags": status_snapshot(result.verdict(c.target.number), config)}
        elif c.field == Entry.STATUS and c.target.kind is not Kind.MESSAGE:
            # What the clerk dealt with: when it changes (the deadline passes), the item comes back.
            item = result.round_item(c.target)
            value = {"status": c.value, "seen": round_item_state(item, result.overdue) if item else ""}
        ledger.add_correction(config.round.name, str(c.target), c.field, value, by, source)
        done.append(_described(c, names))
    return done


def _exists(target: Target, result: Assessment) -> bool:
    if target.is_application:
        return result.verdict(target.number) is not None
    if target.kind is Kind.MESSAGE:
        return target.number in result.messages
    return result.round_item(target) is not None


def _described(c: Change, names: FieldNames) -> str:
    if c.field == Entry.SENDER_OK:
        return f"{c.target} 发件地址经人工确认可代表推荐单位" + ("，今后来自该地址的邮件同样视为已确认" if c.value else "")
    if c.field == Entry.STATUS:
        label = HANDLED_LABEL if c.value == HANDLED else Status(c.value).label
        return f"{c.target} 核定为“{label}”"
    if c.field == Entry.NOTE:
        return f"{c.target} 备注：{c.value}"
    if c.field == Entry.PAPER:
        return (f"{c.target} 纸质材料改为未收到" if c.value.get("undo")
                else f"{c.target} 纸质材料已收到（{c.value.get('on')}，{c.value.get('copies')}份）")
    return f"{c.target} {names.name(c.field)}更正为“{c.value}”"
