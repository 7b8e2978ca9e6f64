"""The round in numbers, for the director: per recommender and track, quota use, problems, the lists."""
from __future__ import annotations

import io
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from ..config import Config
from ..dates import moment_text
from ..model import Flag, RecommenderKind, Status, Track
from ..outputs.sheets import BORDER, FONT, HEAD_FILL, fit_rows, print_setup, text_cell, workbook
from .assess import Assessment, ListEntry
from .facts import Mail

KIND_LABELS = {"city": "设区的市", "department": "省直部门（单位）", "enterprise": "省属企业", "direct": "直接报送",
               "": "未识别"}
LIST_STATES = {"applied": "已申请", "late": "逾期申请", "missing": "未申请"}
TRACKS = (Track.GENERAL, Track.RURAL, Track.RECONFIRM, Track.AUDIT)
SHORT_TRACK = {Track.GENERAL: "省级基地", Track.RURAL: "乡村振兴专项", Track.RECONFIRM: "重新确认", Track.AUDIT: "审验"}


@dataclass(frozen=True)
class RecommenderLine:
    name: str
    kind: str
    per_track: dict[Track, int]
    quota: str                   # "2/3（省级基地1/1，乡村振兴专项1/2）", or "—" outside the quota
    over_quota: int
    statuses: dict[Status, int]
    missing_forms: int
    paper_received: int

    @property
    def total(self) -> int:
        return sum(self.per_track.values())


@dataclass(frozen=True)
class RoundSummary:
    round_name: str
    generated: str
    deadline: str
    overdue: bool
    mail: dict[str, int]          # 收到邮件, 申报邮件, 重复邮件, 忽略, 待人工查看
    lines: tuple[RecommenderLine, ...]
    silent: tuple[str, ...]       # configured recommenders nothing has come from
    flags: tuple[tuple[Flag, int], ...]
    superseded: int
    reconfirm: tuple[ListEntry, ...]
    audit: tuple[ListEntry, ...]

    @property
    def track_totals(self) -> dict[Track, int]:
        return {t: sum(line.per_track[t] for line in self.lines) for t in TRACKS}

    @property
    def status_totals(self) -> dict[Status, int]:
        return {s: sum(line.statuses[s] for line in self.lines) for s in Status}


def summarise(config: Config, result: Assessment, messages: Sequence[Mail], now: datetime) -> RoundSummary:
    """messages: the round's emails (outcome per email)."""
    outcomes = Counter(m.outcome for m in messages if m.id not in result.duplicates)
    mail = {"收到邮件": len(messages), "申报邮件": outcomes["submission"], "重复邮件": len(result.duplicates),
            "忽略（非申报、自动回复等）": outcomes["ignored"], "待人工查看": outcomes["review"]}
    kinds = {r.name: r.kind.value for r in config.recommenders}
    order = [r.name for r in config.recommenders]
    current = result.current
    # An unknown sender's email is its own filer (assess.filer_label), as in every other list.
    sent = [_filer(result, m) for m in messages
            if m.outcome == "submission" and m.id not in result.duplicates and m.recommender]
    names = list(dict.fromkeys([v.recommender for v in sorted(current, key=lambda v: (v.received_at, v.id))]
                               + [m.recommender for m in result.missing_forms] + sent))
    names.sort(key=lambda n: (order.index(n) if n in order else len(order), n))
    lines = []
    for name in names:
        mine = [v for v in current if v.recommender == name]
        kind = kinds.get(name) or (mine[0].recommender_kind if mine else "")
        per_track = {t: sum(1 for v in mine if v.track is t) for t in TRACKS}
        over = sum(1 for v in mine if Flag.QUOTA_EXCEEDED in v.flags)
        lines.append(RecommenderLine(
            name=name, kind=KIND_LABELS.get(kind, kind), per_track=per_track,
            quota=_quota_text(config, kind, mine), over_quota=over,
            statuses={s: sum(1 for v in mine if v.status is s) for s in Status},
            missing_forms=sum(1 for m in result.missing_forms if m.recommender == name),
            paper_received=sum(1 for v in mine if v.paper is not None),
        ))
    flags = Counter(f for v in current for f in v.flags)
    flags[Flag.MISSING_APPLICATION_FORM] += len(result.missing_forms)
    return RoundSummary(
        round_name=config.round.name,
        generated=moment_text(now),
        deadline=moment_text(config.round.deadline),
        overdue=result.overdue,
        mail=mail,
        lines=tuple(lines),
        silent=tuple(n for n in order if n not in names),
        flags=tuple(sorted(((f, n) for f, n in flags.items() if n), key=lambda x: (-x[1], list(Flag).index(x[0])))),
        superseded=sum(1 for v in result.verdicts if not v.current),
        reconfirm=result.reconfirm,
        audit=result.audit,
    )


def _quota_text(config: Config, kind: str, mine) -> str:
    try:
        quota = config.quotas.get(RecommenderKind(kind))
    except ValueError:
        quota = None
    if quota is None:
        return "—"
    # The places the assessment gave: a late one the clerk accepted holds one, a rejected one none.
    counted = [v for v in mine if v.quota_place]
    text = f"{len(counted)}/{quota.total}"
    if quota.per_track:
        parts = [f"{SHORT_TRACK[t]}{sum(1 for v in counted if v.track is t)}/{n}" for t, n in quota.per_track.items()]
        text += f"（{'，'.join(parts)}）"
    return text


def _filer(result: Assessment, m: Mail) -> str:
    verdict = result.messages.get(m.id)
    return verdict.recommender if verdict is not None and verdict.recommender else m.recommender


# ---------------------------------------------------------------- printed

def text(summary: RoundSummary) -> str:
    s = summary
    totals, statuses = s.track_totals, s.status_totals
    out = [f"{s.round_name} 统计（截至{s.generated}；截止时间{s.deadline}{'，已截止' if s.overdue else ''}）", ""]
    out.append("邮件：" + "，".join(f"{k}{v}封" for k, v in s.mail.items()))
    out.append(f"申报单位：共{sum(totals.values())}个（"
               + "，".join(f"{t.label}{totals[t]}个" for t in TRACKS) + "）")
    out.append("受理状态：" + "，".join(f"{st.label}{statuses[st]}个" for st in Status)
               + (f"；另有{s.superseded}份申请已被重新报送替换" if s.superseded else ""))
    out.append("")
    out.append("各推荐单位：")
    for line in s.lines:
        tracks = "，".join(f"{SHORT_TRACK[t]}{line.per_track[t]}" for t in TRACKS if line.per_track[t])
        extra = []
        if line.over_quota:
            extra.append(f"超出名额{line.over_quota}个")
        if line.missing_forms:
            extra.append(f"缺申请表{line.missing_forms}个")
        if line.statuses[Status.NEEDS_REVIEW]:
            extra.append(f"待核实{line.statuses[Status.NEEDS_REVIEW]}个")
        if line.statuses[Status.REJECTED]:
            extra.append(f"不予受理{line.statuses[Status.REJECTED]}个")
        kind = "" if line.kind == line.name else f"（{line.kind}）"
        out.append(f"  {line.name}{kind}：{line.total}个{'（' + tracks + '）' if tracks else ''}；"
                   f"名额{line.quota}" + (f"；{'，'.join(extra)}" if extra else ""))
    if s.silent:
        out.append(f"尚未报送的推荐单位（{len(s.silent)}个）：{'、'.join(s.silent)}")
    if s.flags:
        out.append("")
        out.append("问题：" + "，".join(f"{f.label}{n}个" for f, n in s.flags))
    for title, entries, verb in (("附件3 原省级基地重新确认", s.reconfirm, "未申请重新确认"),
                                 ("附件4 培训机构审验", s.audit, "未报送审验表")):
        missing = [e.name for e in entries if e.state != "applied"]
        listed = f"{title}：{len(entries) - len(missing)}/{len(entries)}家已申请"
        if missing:
            listed += f"；{verb}{'（已逾期）' if s.overdue else ''}：{'、'.join(missing)}"
        out.append(listed)
    return "\n".join(out)


# ---------------------------------------------------------------- 统计.xlsx

# Fourteen columns on one landscape page at ≥ 9 pt (sheets.printed_size): narrow number columns whose
# headers wrap, the unit's name on two lines where it is long.
_COLUMNS = (("推荐单位", 24), ("类别", 12), *((SHORT_TRACK[t], 8) for t in TRACKS), ("合计", 6),
            ("名额使用", 22), ("超出名额", 6), ("已受理", 6), ("待核实", 6), ("不予受理", 6), ("缺申请表", 6),
            ("纸质材料已收", 7))
_BODY_PT = 10.5


def _table(ws, top: int, headers: Sequence[tuple[str, float]], rows: Sequence[Sequence[object]]) -> int:
    for col, (title, width) in enumerate(headers, start=1):
        cell = text_cell(ws, top, col, title)
        cell.font = Font(name=FONT, bold=True, size=_BODY_PT)
        cell.fill = HEAD_FILL
        cell.border = BORDER
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.column_dimensions[get_column_letter(col)].width = width
    for r, values in enumerate(rows, start=top + 1):
        for col, value in enumerate(values, start=1):
            cell = ws.cell(row=r, column=col, value=value) if isinstance(value, int) else text_cell(ws, r, col, value)
            cell.font = Font(name=FONT, size=_BODY_PT, bold=values[0] == "合计")
            cell.border = BORDER
            cell.alignment = Alignment(horizontal="left" if col == 1 else "center", vertical="center", wrap_text=True)
    return top + len(rows)


def _title(ws, text_: str, subtitle: str, width: int) -> None:
    cell = text_cell(ws, 1, 1, text_)
    cell.font = Font(name=FONT, size=16, bold=True)
    cell.alignment = Alignment(wrap_text=True, vertical="center")
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    cell = text_cell(ws, 2, 1, subtitle)
    cell.font = Font(name=FONT, size=_BODY_PT)
    cell.alignment = Alignment(wrap_text=True, vertical="center")
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=width)


def _finish(ws, *, landscape: bool) -> None:
    """Rows as tall as their text, the table's header on every printed page."""
    fit_rows(ws)
    print_setup(ws, landscape=landscape, repeat="4:4")


def _chart(ws, table, n: int) -> None:
    """The table's per-track numbers as bars, on a sheet of its own: one portrait page, never split."""
    chart = BarChart()
    chart.type = "bar"                  # horizontal: sixteen cities' names stay readable
    chart.grouping = "stacked"
    chart.overlap = 100
    chart.title = "各推荐单位申报数（按申报类别）"
    chart.y_axis.title = "申报单位数"
    chart.x_axis.title = None
    data = Reference(table, min_col=3, max_col=2 + len(TRACKS), min_row=4, max_row=4 + n)
    cats = Reference(table, min_col=1, min_row=5, max_row=4 + n)
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(cats)
    chart.x_axis.scaling.orientation = "maxMin"     # the table's order, top to bottom
    chart.y_axis.majorUnit = 1
    chart.y_axis.delete = False
    chart.x_axis.delete = False
    chart.x_axis.tickLblSkip = 1        # every recommender named, however many (a program may skip some)
    # cm: about half a centimetre a bar, within a portrait page (its names are read at full size)
    chart.width = 18
    chart.height = min(26.0, max(8.0, 0.7 * n + 3))
    ws.add_chart(chart, "A1")
    print_setup(ws, landscape=False)
    ws.page_setup.fitToHeight = 1


def stats_xlsx(summary: RoundSummary) -> bytes:
    s = summary
    wb = workbook()
    ws = wb.active
    ws.title = "统计"
    _title(ws, f"{s.round_name}统计", f"截至{s.generated}；截止时间{s.deadline}{'（已截止）' if s.overdue else ''}；"
           + "，".join(f"{k}{v}封" for k, v in s.mail.items()), len(_COLUMNS))
    rows = [[line.name, line.kind, *(line.per_track[t] for t in TRACKS), line.total, line.quota, line.over_quota,
             line.statuses[Status.ACCEPTED], line.statuses[Status.NEEDS_REVIEW], line.statuses[Status.REJECTED],
             line.missing_forms, line.paper_received] for line in s.lines]
    totals = s.track_totals
    rows.append(["合计", "", *(totals[t] for t in TRACKS), sum(totals.values()), "",
                 sum(line.over_quota for line in s.lines), *(s.status_totals[st] for st in Status),
                 sum(line.missing_forms for line in s.lines), sum(line.paper_received for line in s.lines)])
    _table(ws, 4, _COLUMNS, rows)
    ws.freeze_panes = "B5"
    _finish(ws, landscape=True)
    if s.lines:
        _chart(wb.create_sheet("图表"), ws, len(s.lines))

    problems = wb.create_sheet("问题")
    _title(problems, "问题统计", "当前有效的申请中各类问题出现的次数（一个申请可有多个问题）", 2)
    _table(problems, 4, (("问题", 50), ("数量", 10)), [[f.label, n] for f, n in s.flags] or [["（无）", 0]])
    _finish(problems, landscape=False)

    lists = wb.create_sheet("名单")
    _title(lists, "附件3、附件4名单申报情况",
           "附件3：原认定的省级继续教育基地须申请重新确认，未按时申请的不再保留资格；附件4：2016年招募的培训机构须报送审验表", 3)
    rows = [["附件3 重新确认", e.name, LIST_STATES[e.state] + ("（已逾期）" if s.overdue and e.state == "missing" else "")]
            for e in s.reconfirm]
    rows += [["附件4 审验", e.name, LIST_STATES[e.state] + ("（已逾期）" if s.overdue and e.state == "missing" else "")]
             for e in s.audit]
    _table(lists, 4, (("名单", 16), ("单位", 40), ("情况", 18)), rows or [["（名单为空）", "", ""]])
    _finish(lists, landscape=False)

    if s.silent:
        silent = wb.create_sheet("未报送")
        _title(silent, "尚未报送的推荐单位", f"共{len(s.silent)}个", 1)
        _table(silent, 4, (("推荐单位", 40),), [[n] for n in s.silent])
        _finish(silent, landscape=False)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
