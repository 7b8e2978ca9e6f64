"""From the documents of one email to its applications and its recommender. Pure.

Each 申请表/审验表 is an application; the applicants the 推荐函 and 汇总表 name are paired with them by
name (forgiving OCR), so that a typed name corrects an OCR one, the letter's track stands in for an
unreadable tick, and an applicant named but without a form is an application flagged 缺少申请表.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace

from .config import Config
from .model import (
    Application,
    DocKind,
    Document,
    Evidence,
    Finding,
    Flag,
    Outcome,
    Recommender,
    RecommenderKind,
    Submission,
    Track,
)
from .names import key, on_list, pair, same_unit
from .read import uscc
from .read.doubts import confirmed
from .read.text import norm_name
from .reconcile import Group, Mention, listed_groups, typed_name
from .route import Directory

DIRECT = Recommender("直接报送", RecommenderKind.DIRECT)
_APPLICANT_KINDS = (DocKind.FORM, DocKind.AUDIT_FORM)
_FORM_IN_NAME = re.compile(r"(申请表|审验表)")
_MESSAGE_LEVEL_NAME = re.compile(r"(推荐函|推荐信|汇总表)")
_NO_NAME = "未识别申报单位"


@dataclass(frozen=True)
class _Draft:
    """An application before it is paired with what the letters and tables say."""

    doc: Document
    read: Mention                   # its name as the form (or else the file name) gives it
    copies: tuple[Document, ...] = ()   # the same form again in the same email (its PDF, a scan of it)


def assemble(sub: Submission, config: Config, directory: Directory) -> Submission:
    docs = sub.documents
    recognised = {d.kind for d in docs} - {DocKind.EVIDENCE, DocKind.UNREAD}
    if not sub.parsed_subject.related and not recognised:
        reason = ("标题与申报无关，附件未能识别为申报材料，请人工查看" if sub.parsed.attachments
                  else "非申报邮件（标题与申报无关且无附件）")
        outcome = Outcome.REVIEW if sub.parsed.attachments else Outcome.IGNORED
        return replace(sub, outcome=outcome, reason=reason)

    recommender = sub.recommender or _recommender_from_letters(docs, directory)
    drafts = [_Draft(d, _form_name(d, sub)) for d in docs if d.kind in _APPLICANT_KINDS]
    for d in docs:  # a scan that could not be read still names its applicant in its file name
        name = _applicant_from_filename(d.filename) if d.kind is DocKind.UNREAD else ""
        if name and not on_list(name, [dr.read.name for dr in drafts]):
            drafts.append(_Draft(d, Mention(name, True, "文件名")))
    drafts = _one_per_form(drafts)
    groups = listed_groups(docs)
    subject = _subject_applicant(sub, directory, recommender)

    paired = {i: groups[j] for i, j, _ in pair([dr.read.name for dr in drafts], [g.name for g in groups])}
    listing = "、".join(dict.fromkeys(m.where for g in groups for m in g.mentions))
    threshold = config.ocr.min_confidence
    apps = [_application(dr, paired.get(i), subject, sub, listing, threshold) for i, dr in enumerate(drafts)]
    unread_left = any(d.kind is DocKind.UNREAD and not _applicant_from_filename(d.filename) for d in docs)
    claimed = {id(g) for g in paired.values()}
    apps += [_missing_form(g, sub, unread_left) for g in groups if id(g) not in claimed]

    if not apps and DocKind.UNREAD in {d.kind for d in docs} and subject and recommender is None:
        unread = next(d for d in docs if d.kind is DocKind.UNREAD)
        apps.append(_application(_Draft(unread, Mention(subject, True, "邮件标题")), None, subject, sub, "", threshold))
    apps = _attach_other_documents(apps, docs)
    if recommender is None and apps and all(_direct_track(a, config) for a in apps):
        recommender = DIRECT
    return replace(sub, applications=tuple(apps), recommender=recommender)


# The copy to read a form by when an email carries it twice: what was typed before what was scanned.
_METHOD_ORDER = {"docx": 0, "text": 1, "ocr": 2}


def _one_per_form(drafts: list[_Draft]) -> list[_Draft]:
    """A form sent twice in one email (the DOCX and the PDF made of it, a scan and a photo) is one
    application with two documents. The typed copy's values stand; a field only the other has read
    is taken from it (_application). Two forms of one unit for different tracks stay two."""
    groups: list[list[_Draft]] = []
    for draft in drafts:
        group = next((g for g in groups if _same_form(g[0], draft)), None)
        if group is None:
            groups.append([draft])
        else:
            group.append(draft)
    out = []
    for group in groups:        # in the email's order, each under its best-read copy
        best, *rest = sorted(group, key=lambda d: _METHOD_ORDER.get(d.doc.method, 3))
        out.append(replace(best, copies=tuple(d.doc for d in rest)))
    return out


def _same_form(a: _Draft, b: _Draft) -> bool:
    if a.doc.kind is not b.doc.kind or "申请表" not in (a.read.where, b.read.where) \
            or key(a.read.name) != key(b.read.name):
        return False
    ta, tb = a.doc.fields.get("track"), b.doc.fields.get("track")
    return ta is None or tb is None or ta == tb


def _form_name(doc: Document, sub: Submission) -> Mention:
    name = str(doc.fields.get("unit_name") or "")
    if name:
        return Mention(name, doc.method != "ocr", "申请表", doc.field_confidence.get("unit_name", 1.0))
    from_file = _applicant_from_filename(doc.filename)
    if from_file:
        return Mention(from_file, True, "文件名")
    return Mention(sub.parsed_subject.who or _NO_NAME, bool(sub.parsed_subject.who), "邮件标题")


def _subject_applicant(sub: Submission, directory: Directory, recommender: Recommender | None) -> str:
    """The subject's XXXX when it names an applicant rather than a recommender."""
    who = sub.parsed_subject.who
    if not who or directory.by_name(who) is not None:
        return ""
    if recommender is not None and norm_name(who) in norm_name(recommender.name):
        return ""
    return who


def _application(draft: _Draft, group: Group | None, subject: str, sub: Submission, listing: str,
                 threshold: float) -> Application:
    doc = draft.doc
    fields = dict(doc.fields) if doc.kind in _APPLICANT_KINDS else {}
    confidence = dict(doc.field_confidence) if doc.kind in _APPLICANT_KINDS else {}
    if doc.kind is DocKind.UNREAD and group is not None:
        # Nothing could be read from the form: the summary table's row is the best there is.
        fields, confidence = dict(group.fields), dict(group.confidence)
    for copy in draft.copies:       # the same form again: what the best-read copy left empty
        for k, v in copy.fields.items():
            if v is not None and fields.get(k) is None:
                fields[k], confidence[k] = v, copy.field_confidence.get(k, 0.0)
    findings: list[Finding] = []

    read = draft.read
    others = list(group.mentions) if group else []
    others += [Mention(n, True, w) for n, w in ((subject, "邮件标题"), (_applicant_from_filename(doc.filename), "文件名"))
               if n and same_unit(n, read.name)]
    better = typed_name(read, others)
    applicant = better.name if better else read.name
    if better or (doc.kind is DocKind.UNREAD and fields):
        fields["unit_name"] = applicant
        confidence["unit_name"] = better.confidence if better else 1.0
        if better:  # the typed name settles it: the scan's doubt about its own reading is stale
            doc = confirmed(doc, {"unit_name"})
    elif group and read.typed and read.where == "申请表":
        typed = [m for m in group.mentions if m.typed and key(m.name) != key(read.name)]
        if typed:
            findings.append(Finding(Flag.LOW_CONFIDENCE, f"申请表中的单位名称“{read.name}”与{typed[0].where}所列"
                                                         f"“{typed[0].name}”不一致，请核对"))

    track, note, settled = _track(doc, group, sub, threshold)
    if settled:
        doc = confirmed(doc, {"track"})
    if note:
        findings.append(note)
    if track is not None and doc.kind is DocKind.FORM and (settled or not fields.get("track")):
        fields["track"] = track.value
        confidence["track"] = min((m.confidence for m in group.mentions), default=1.0) if group else 1.0
    if track is None:
        track = Track.GENERAL
        if doc.kind in _APPLICANT_KINDS:  # an unread scan already says it could not be read
            findings.append(Finding(Flag.LOW_CONFIDENCE, "申报类别未能识别（未勾选或勾选多项），暂按省级继续教育基地登记"))

    # Only an OCR reading is ever corrected: a typed code is what the sender wrote, right or wrong.
    if doc.method == "ocr" and isinstance(code := fields.get("credit_code"), str):
        checked = uscc.confirm(code)
        if checked.corrected_from:
            fields["credit_code"] = checked.code
        if checked.corrected_from and not checked.completed:
            findings.append(Finding(Flag.LOW_CONFIDENCE, f"统一社会信用代码识别为“{checked.corrected_from}”，校验位不符；"
                                                         f"按形近字{checked.describe()}后为“{checked.code}”，"
                                                         f"校验通过，请与原件核对"))
    if listing and group is None and track.in_quota and doc.kind in _APPLICANT_KINDS:
        findings.append(Finding(Flag.LOW_CONFIDENCE, f"{listing}中未列出“{applicant}”，请核对"))
    # The form's own problem (fields read from a scan with low confidence) is the applicant's.
    findings = ([doc.problem] if doc.problem else []) + findings
    return Application(applicant, track, fields, confidence, (doc, *draft.copies), tuple(findings),
                       field_evidence=_evidence(doc, fields, confidence, better, group, settled, draft.copies))


def _evidence(doc: Document, fields: dict[str, object], confidence: dict[str, float], better: Mention | None,
              group: Group | None, settled: bool, copies: tuple[Document, ...] = ()) -> dict[str, Evidence]:
    """Where each value of the application came from: the form's page, or the other document (or the
    subject, or the file's name) that settled it."""
    out = {k: e for d in (*reversed(copies), doc) for k, e in d.field_evidence.items()
           if k in fields and d.kind in _APPLICANT_KINDS}
    if doc.kind is DocKind.UNREAD and group is not None:
        # Nothing could be read from the form: the values are the summary table's row.
        out = {k: Evidence(0, None, None, str(v), confidence.get(k, 1.0), source="申报汇总表")
               for k, v in fields.items() if v is not None}
    if better is not None:
        # Where the form has the name, it stays the place to look; what settled the value is the source.
        read = out.get("unit_name") or Evidence(0, None, None, better.name, better.confidence)
        out["unit_name"] = replace(read, confidence=better.confidence, source=better.where)
    code = fields.get("credit_code")
    read_code = next((d.fields["credit_code"] for d in (doc, *copies) if d.fields.get("credit_code") is not None), None)
    if "credit_code" in out and code != read_code:
        # The reading stays the evidence; the check characters made the value.
        out["credit_code"] = replace(out["credit_code"], source=f"按校验码更正为 {code}")
    if group is not None and group.track is not None and "track" in fields and (settled or "track" not in out):
        read = out.get("track") or Evidence(0, None, None, str(fields["track"]), confidence.get("track", 1.0))
        out["track"] = replace(read, source="推荐函" if "推荐函" in group.tracks else "申报汇总表")
    return out


def _track(doc: Document, group: Group | None, sub: Submission,
           threshold: float) -> tuple[Track | None, Finding | None, bool]:
    """The track, a finding about it, and whether a typed list settled a tick the form left unsure."""
    if doc.kind is DocKind.AUDIT_FORM:
        return Track.AUDIT, None, False
    listed = group.track if group else None
    ticked = Track(str(doc.fields["track"])) if doc.kind is DocKind.FORM and doc.fields.get("track") else None
    where = ("推荐函" if "推荐函" in group.tracks else "汇总表") if group and listed else ""
    if ticked and listed and doc.field_confidence.get("track", 1.0) < threshold:
        # No option visibly ticked (a lost OCR line, a dropped ☑): the typed letter or table decides.
        if ticked is listed:
            return listed, None, True
        return listed, Finding(Flag.LOW_CONFIDENCE, f"申报类别：申请表中未能看清勾选项（识别为“{ticked.label}”），"
                                                    f"按{where}所列“{listed.label}”登记，请核对"), True
    if ticked and listed and ticked is not listed:
        return ticked, Finding(Flag.LOW_CONFIDENCE, f"申报类别不一致：申请表为“{ticked.label}”，"
                                                    f"{where}为“{listed.label}”，请核对"), False
    return ticked or listed or sub.parsed_subject.track_hint, None, False


def _missing_form(group: Group, sub: Submission, unread_left: bool) -> Application:
    name = group.name
    track = group.track or sub.parsed_subject.track_hint or Track.GENERAL
    fields = {"unit_name": name, **group.fields, "track": track.value}
    confidence = {"unit_name": group.best().confidence, **group.confidence}
    detail = f"{group.where}所列“{name}”未见申请表"
    if unread_left:
        detail += "（邮件中另有未能识别的附件，可能即为该申请表，请人工核对）"
    return Application(name, track, fields, confidence, (), (Finding(Flag.MISSING_APPLICATION_FORM, detail),))


def _applicant_from_filename(filename: str) -> str:
    filename = filename.rsplit("/", 1)[-1]  # a member of an archive: "材料.zip/申请表-某某中心.pdf"
    if not _FORM_IN_NAME.search(filename):
        return ""
    stem = re.sub(r"\.[A-Za-z0-9]{1,5}$", "", filename)
    stem = re.sub(r"(附件\s*\d*|山东省专业技术人员继续教育基地|申请表|审验表|扫描件|[-_—()（）\s])", "", stem)
    return stem if len(stem) >= 4 else ""


def _recommender_from_letters(docs: tuple[Document, ...], directory: Directory) -> Recommender | None:
    for d in docs:
        if d.kind is DocKind.LETTER:
            found = directory.in_text("".join(p.text for p in d.pages))
            if found:
                return found
    for d in docs:  # the 汇总表's 推荐单位（盖章） line
        if d.kind is DocKind.SUMMARY and d.fields.get("recommender"):
            found = directory.in_text(str(d.fields["recommender"])) or directory.by_name(str(d.fields["recommender"]))
            if found:
                return found
    return None


def _attach_other_documents(apps: list[Application], docs: tuple[Document, ...]) -> list[Application]:
    """佐证材料 and unread files go with the applicant they name; with a single applicant, to it."""
    used = {id(d) for a in apps for d in a.documents}
    extra = [d for d in docs if id(d) not in used and d.kind in (DocKind.EVIDENCE, DocKind.UNREAD)
             and not _MESSAGE_LEVEL_NAME.search(d.filename)]
    out = []
    for a in apps:
        named = norm_name(a.applicant)
        mine = [d for d in extra if (len(apps) == 1 or named in norm_name(d.filename))]
        problems = tuple(d.problem for d in mine if d.problem)
        out.append(replace(a, documents=a.documents + tuple(mine), findings=a.findings + problems))
    return out


def _direct_track(app: Application, config: Config) -> bool:
    if app.track is Track.RECONFIRM:
        return on_list(app.applicant, config.reconfirm_list)
    if app.track is Track.AUDIT:
        return on_list(app.applicant, config.audit_list)
    return False
