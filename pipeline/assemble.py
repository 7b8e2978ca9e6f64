"""From the documents of one email to its applications and its recommender. Pure."""
from __future__ import annotations

import re
from dataclasses import replace

from .config import Config
from .model import (Application, DocKind, Document, Finding, Flag, Outcome, Recommender, RecommenderKind,
                    Submission, Track)
from .read.text import norm_name
from .route import Directory
from .rules import on_list

DIRECT = Recommender("直接报送", RecommenderKind.DIRECT)
_APPLICANT_KINDS = (DocKind.FORM, DocKind.AUDIT_FORM)
_FORM_IN_NAME = re.compile(r"(申请表|审验表)")
_MESSAGE_LEVEL_NAME = re.compile(r"(推荐函|推荐信|汇总表)")


def assemble(sub: Submission, config: Config, directory: Directory) -> Submission:
    docs = sub.documents
    recognised = {d.kind for d in docs} - {DocKind.EVIDENCE, DocKind.UNREAD}
    if not sub.subject.related and not recognised:
        reason = ("标题与申报无关，附件未能识别为申报材料，请人工查看" if sub.message.attachments
                  else "非申报邮件（标题与申报无关且无附件）")
        outcome = Outcome.REVIEW if sub.message.attachments else Outcome.IGNORED
        return replace(sub, outcome=outcome, reason=reason)

    apps = [_from_form(d, sub) for d in docs if d.kind in _APPLICANT_KINDS]
    known = {norm_name(a.applicant) for a in apps}
    for d in docs:  # a scanned form we cannot read yet still names its applicant in its file name
        name = _applicant_from_filename(d.filename) if d.kind is DocKind.UNREAD else ""
        if name and norm_name(name) not in known:
            apps.append(_unread_application(name, d, sub))
            known.add(norm_name(name))
    recommender = sub.recommender or _recommender_from_letters(docs, directory)
    if not apps and DocKind.UNREAD in {d.kind for d in docs} and sub.subject.who \
            and directory.by_name(sub.subject.who) is None and recommender is None:
        unread = next(d for d in docs if d.kind is DocKind.UNREAD)
        apps.append(_unread_application(sub.subject.who, unread, sub))
    apps = _attach_other_documents(apps, docs)
    if recommender is None and apps and all(_direct_track(a, config) for a in apps):
        recommender = DIRECT
    return replace(sub, applications=tuple(apps), recommender=recommender)


def _from_form(doc: Document, sub: Submission) -> Application:
    findings: list[Finding] = []
    applicant = str(doc.fields.get("unit_name") or "") or _applicant_from_filename(doc.filename) \
        or sub.subject.who or "未识别申报单位"
    if doc.kind is DocKind.AUDIT_FORM:
        track = Track.AUDIT
    elif doc.fields.get("track"):
        track = Track(doc.fields["track"])
    elif sub.subject.track_hint:
        track = sub.subject.track_hint
    else:
        track = Track.GENERAL
        findings.append(Finding(Flag.LOW_CONFIDENCE, "申报类别未能识别（未勾选或勾选多项），暂按省级继续教育基地登记"))
    return Application(applicant, track, dict(doc.fields), dict(doc.field_confidence), (doc,), tuple(findings))


def _unread_application(name: str, doc: Document, sub: Submission) -> Application:
    track = sub.subject.track_hint or Track.GENERAL
    problem = (doc.problem,) if doc.problem else ()
    return Application(name, track, {}, {}, (doc,), problem)


def _applicant_from_filename(filename: str) -> str:
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
    return None


def _attach_other_documents(apps: list[Application], docs: tuple[Document, ...]) -> list[Application]:
    """佐证材料 and unread files go with the applicant they name; with a single applicant, to it."""
    used = {id(d) for a in apps for d in a.documents}
    extra = [d for d in docs if id(d) not in used and d.kind in (DocKind.EVIDENCE, DocKind.UNREAD)
             and not _MESSAGE_LEVEL_NAME.search(d.filename)]
    out = []
    for a in apps:
        key = norm_name(a.applicant)
        mine = [d for d in extra if (len(apps) == 1 or key in norm_name(d.filename))]
        problems = tuple(d.problem for d in mine if d.problem)
        out.append(replace(a, documents=a.documents + tuple(mine), findings=a.findings + problems))
    return out


def _direct_track(app: Application, config: Config) -> bool:
    if app.track is Track.RECONFIRM:
        return on_list(app.applicant, config.reconfirm_list)
    if app.track is Track.AUDIT:
        return on_list(app.applicant, config.audit_list)
    return False
