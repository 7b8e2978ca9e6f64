"""The notice's checks on one message, as pure functions that return findings and statuses.

Round-level rules (quotas, 多头申报, resubmissions) need every message and live elsewhere.
"""
from __future__ import annotations

import re
from dataclasses import replace

from .config import Config
from .dates import moment_text
from .model import (
    CLERK_ONLY,
    Application,
    DocKind,
    Finding,
    Flag,
    Outcome,
    RecommenderKind,
    Status,
    Submission,
    Track,
)
from .names import on_list, same_unit
from .read import uscc
from .read.text import norm_name
from .subject import is_reply

# Webmail "large attachment" links: the file is on a server, not in the mail.
_CLOUD_LINK = re.compile(
    r"(超大附件|大附件|云附件|网盘|ftn\w*download|large-?attach|bigattach|pan\.baidu\.com|mail\.qq\.com/cgi-bin/ftn)",
    re.I)


def credit_code_valid(code: str) -> bool:
    return uscc.is_valid(code)


def check(sub: Submission, config: Config) -> Submission:
    """Add the per-message findings to the submission and its applications, then set statuses."""
    msg = sub.parsed
    found: list[Finding] = list(sub.findings) + list(msg.problems)
    found += [d.problem for d in sub.loose_documents if d.problem]
    if not sub.parsed_subject.conforming:
        found.append(Finding(Flag.SUBJECT_NONCONFORMING,
                             f"标题为“{msg.subject}”，应为“XXXX{config.round.subject_suffix}”"))
    if sub.recommender is None:
        found.append(Finding(Flag.UNKNOWN_SENDER,
                             f"发件人 {msg.sender or '（无地址）'} 不在推荐单位名单中，推荐函中也未能识别推荐单位"))
    if sub.received_at > config.round.deadline:
        found.append(Finding(Flag.LATE, f"邮件于{moment_text(sub.received_at)}送达，"
                                        f"截止时间为{moment_text(config.round.deadline)}"))
    if _CLOUD_LINK.search(msg.body):
        found.append(Finding(Flag.CLOUD_ATTACHMENT_LINK, "邮件正文含下载链接，请将材料作为附件直接发送"))
    kinds = {d.kind for d in sub.documents}
    quota_apps = [a for a in sub.applications if a.track.in_quota]
    direct = sub.recommender is not None and sub.recommender.kind is RecommenderKind.DIRECT
    if quota_apps and DocKind.LETTER not in kinds and DocKind.UNREAD not in kinds and not direct:
        found.append(Finding(Flag.MISSING_RECOMMENDATION_LETTER, "邮件中未见推荐单位出具的推荐函"))
    found.extend(_missing_forms(sub))
    message_level = _dedupe(found)
    apps = tuple(_check_application(a, message_level, config) for a in sub.applications)
    return _nothing_attached(replace(sub, findings=message_level, applications=apps))


def _nothing_attached(sub: Submission) -> Submission:
    """An email of the round that brought no file at all. A link to a cloud drive is for a person to
    follow up, and its receipt asks for the files as attachments; a reply ("收到，谢谢") is no submission,
    and answering it would start a correspondence between a polite person and a machine."""
    if sub.outcome is not Outcome.SUBMISSION or sub.applications or sub.parsed.attachments:
        return sub
    if any(f.flag is Flag.CLOUD_ATTACHMENT_LINK for f in sub.findings):
        return replace(sub, outcome=Outcome.REVIEW, reason="材料为网盘或超大附件下载链接，未作为附件随邮件送达")
    if is_reply(sub.parsed.subject):
        return replace(sub, outcome=Outcome.IGNORED, reason="回复或转发的邮件，未附任何材料（如“收到，谢谢”），不作为申报")
    return sub


def awaits_files(sub: Submission) -> bool:
    """Sent a link in place of the files: answered all the same, so that the sender attaches them."""
    return sub.outcome is Outcome.REVIEW and any(f.flag is Flag.CLOUD_ATTACHMENT_LINK for f in sub.findings)


def _missing_forms(sub: Submission) -> list[Finding]:
    who = sub.parsed_subject.who
    if not sub.parsed_subject.related or not who or (sub.recommender is not None and _names_recommender(who, sub)):
        return []
    if not sub.applications:
        return [Finding(Flag.MISSING_APPLICATION_FORM, f"标题中的“{who}”未见申请表")]
    # The subject is typed, the form may be OCR that dropped a rare character: names.same_unit forgives it.
    if any(same_unit(who, a.applicant) for a in sub.applications):
        return []
    return [Finding(Flag.MISSING_APPLICATION_FORM, f"标题中的“{who}”未见申请表")]


def _names_recommender(who: str, sub: Submission) -> bool:
    rec = sub.recommender
    if rec is None:
        return False
    key = norm_name(who)
    return key in norm_name(rec.name) or any(key == norm_name(a) for a in rec.aliases)


def _check_application(app: Application, message_level: tuple[Finding, ...], config: Config) -> Application:
    found = list(app.findings) + field_findings(app.applicant, app.track, app.fields, config)
    f = app.fields
    # Which fields are required, and what they are called, is the form definition's (templates/forms/):
    # the reader lists those it could not read; what assembling filled in from a typed source is not missing.
    missing = list(dict.fromkeys(label for d in app.documents if d.kind in (DocKind.FORM, DocKind.AUDIT_FORM)
                                 for key, label in d.missing.items() if f.get(key) in (None, "")))
    if missing:
        found.append(Finding(Flag.LOW_CONFIDENCE, f"申请表中未能读取：{'、'.join(missing)}"))
    findings = _dedupe(found + [f for f in message_level if f.flag not in CLERK_ONLY])
    return replace(app, findings=findings, status=status_for(findings, config))


# The flags that follow from the applicant's name, track and field values alone: the round assessment
# runs them again when a clerk corrects one of those.
FIELD_FLAGS = frozenset({Flag.NOT_ON_RECONFIRM_LIST, Flag.NOT_ON_AUDIT_LIST, Flag.TRAINEES_BELOW_MINIMUM,
                         Flag.INVALID_CREDIT_CODE})


def field_findings(applicant: str, track: Track, f, config: Config) -> list[Finding]:
    found = []
    if track is Track.RECONFIRM and not on_list(applicant, config.reconfirm_list):
        found.append(Finding(Flag.NOT_ON_RECONFIRM_LIST, f"{applicant}不在附件3名单中，不能按重新确认申报"))
    if track is Track.AUDIT and not on_list(applicant, config.audit_list):
        found.append(Finding(Flag.NOT_ON_AUDIT_LIST, f"{applicant}不在附件4名单中，不能申请审验"))
    trainees = f.get("avg_trainees")
    if track is Track.GENERAL and isinstance(trainees, int) and trainees < config.round.min_trainees:
        found.append(Finding(Flag.TRAINEES_BELOW_MINIMUM,
                             f"近三年年均培训{trainees}人，低于每年{config.round.min_trainees}人的申报条件"))
    code = f.get("credit_code")
    if isinstance(code, str) and code and not credit_code_valid(code):
        found.append(Finding(Flag.INVALID_CREDIT_CODE, f"{code}不符合GB 32100-2015校验规则，请核对"))
    return found


def status_for(findings, config: Config) -> Status:
    flags = {f.flag for f in findings}
    if flags & config.rejected_flags:
        return Status.REJECTED
    if flags & config.review_flags:
        return Status.NEEDS_REVIEW
    return Status.ACCEPTED


def _dedupe(findings) -> tuple[Finding, ...]:
    return tuple(dict.fromkeys(findings))
