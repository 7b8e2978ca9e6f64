"""The nouns of the intake pipeline: plain data that travels between stages."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Track(StrEnum):
    GENERAL = "general"
    RURAL = "rural"
    RECONFIRM = "reconfirm"
    AUDIT = "audit"

    @property
    def label(self) -> str:
        return TRACK_LABELS[self]

    @property
    def in_quota(self) -> bool:
        return self in (Track.GENERAL, Track.RURAL)


TRACK_LABELS = {
    Track.GENERAL: "省级继续教育基地",
    Track.RURAL: "省级继续教育基地（乡村振兴）专项",
    Track.RECONFIRM: "原省级继续教育基地重新确认",
    Track.AUDIT: "继续教育培训机构审验",
}


class RecommenderKind(StrEnum):
    CITY = "city"
    DEPARTMENT = "department"
    ENTERPRISE = "enterprise"
    DIRECT = "direct"


class Outcome(StrEnum):
    SUBMISSION = "submission"
    IGNORED = "ignored"
    REVIEW = "review"


class ReceiptState(StrEnum):
    """Where a receipt stands. held: written with its message, waiting for the round assessment;
    queued: free to go (again at next_attempt_at); sending: an attempt began and its end is not yet
    recorded; sent; suppressed: not to be sent (a duplicate email, the sender's daily cap); failed:
    refused for good, for a person to answer."""

    HELD = "held"
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    SUPPRESSED = "suppressed"
    FAILED = "failed"


class Status(StrEnum):
    ACCEPTED = "accepted"
    NEEDS_REVIEW = "needs_review"
    REJECTED = "rejected"

    @property
    def label(self) -> str:
        return {"accepted": "已受理", "needs_review": "待核实", "rejected": "不予受理"}[self.value]


class Flag(StrEnum):
    SUBJECT_NONCONFORMING = "subject_nonconforming"
    UNKNOWN_SENDER = "unknown_sender"
    MISSING_RECOMMENDATION_LETTER = "missing_recommendation_letter"
    MISSING_APPLICATION_FORM = "missing_application_form"
    LATE = "late"
    QUOTA_EXCEEDED = "quota_exceeded"
    DUPLICATE_APPLICANT = "duplicate_applicant"
    NOT_ON_RECONFIRM_LIST = "not_on_reconfirm_list"
    NOT_ON_AUDIT_LIST = "not_on_audit_list"
    TRAINEES_BELOW_MINIMUM = "trainees_below_minimum"
    INVALID_CREDIT_CODE = "invalid_credit_code"
    LOW_CONFIDENCE = "low_confidence"
    UNREADABLE_ATTACHMENT = "unreadable_attachment"
    CLOUD_ATTACHMENT_LINK = "cloud_attachment_link"
    SUPERSEDED = "superseded"
    ENCODING_GUESSED = "encoding_guessed"
    UNVERIFIED_SENDER = "unverified_sender"
    SENDER_AUTHENTICATED = "sender_authenticated"

    @property
    def label(self) -> str:
        return FLAG_LABELS[self]


# What a clerk and a sender read for each flag; the detail after the colon says with whom and why.
FLAG_LABELS = {
    Flag.SUBJECT_NONCONFORMING: "邮件标题不规范",
    Flag.UNKNOWN_SENDER: "发件人未能对应到推荐单位",
    Flag.MISSING_RECOMMENDATION_LETTER: "缺少推荐函",
    Flag.MISSING_APPLICATION_FORM: "缺少申请表",
    Flag.LATE: "逾期报送",
    Flag.QUOTA_EXCEEDED: "超出推荐名额",
    Flag.DUPLICATE_APPLICANT: "同一单位多头申报",
    Flag.NOT_ON_RECONFIRM_LIST: "不在原认定省级继续教育基地名单（附件3）中",
    Flag.NOT_ON_AUDIT_LIST: "不在2016年招募培训机构名单（附件4）中",
    Flag.TRAINEES_BELOW_MINIMUM: "年均培训人数低于要求",
    Flag.INVALID_CREDIT_CODE: "统一社会信用代码校验未通过",
    Flag.LOW_CONFIDENCE: "信息需人工核对",
    Flag.UNREADABLE_ATTACHMENT: "附件无法打开",
    Flag.CLOUD_ATTACHMENT_LINK: "附件为网盘/超大附件链接，未随邮件送达",
    Flag.SUPERSEDED: "已被后续邮件替换",
    Flag.ENCODING_GUESSED: "文字编码未声明或有误，已推测识别",
    Flag.UNVERIFIED_SENDER: "发件地址未经核实",
    Flag.SENDER_AUTHENTICATED: "收件服务器发件认证通过",
}


# About how intake read the email, not about what it submits: kept on the message for the clerk, never
# copied onto its applications (the 备注 of a table) nor told the sender.
CLERK_ONLY = frozenset({Flag.ENCODING_GUESSED, Flag.SENDER_AUTHENTICATED})


@dataclass(frozen=True)
class Finding:
    """One flag raised on a message or an application, with the detail a person needs."""

    flag: Flag
    detail: str = ""

    def text(self) -> str:
        return f"{self.flag.label}：{self.detail}" if self.detail else self.flag.label


class DocKind(StrEnum):
    LETTER = "letter"            # 推荐函
    FORM = "form"                # 申请表（附件1）
    SUMMARY = "summary"          # 申报汇总表（附件2）
    AUDIT_FORM = "audit_form"    # 审验表（附件5）
    EVIDENCE = "evidence"        # 佐证材料
    UNREAD = "unread"            # no text could be read (scanned, pending OCR)

    @property
    def label(self) -> str:
        return {
            "letter": "推荐函", "form": "申请表", "summary": "申报汇总表", "audit_form": "审验表",
            "evidence": "佐证材料", "unread": "未识别文件",
        }[self.value]


@dataclass(frozen=True)
class Box:
    """A piece of text at a position on a page; text layer, DOCX cells and OCR all produce these."""

    text: str
    x0: float
    top: float
    x1: float
    bottom: float
    confidence: float = 1.0


# A plane projective map as 9 numbers, row by row: (x, y) → ((a·x + b·y + c) / w, (d·x + e·y + f) / w),
# w = g·x + h·y + i.
Frame = tuple[float, ...]


@dataclass(frozen=True)
class Page:
    number: int
    boxes: tuple[Box, ...]
    # Where the boxes' points lie on the page as its file holds it, when OCR read the page another way
    # (a photo's sheet flattened, a sideways scan turned, a skew undone); None: the same place.
    frame: Frame | None = None

    def on_file(self, rect: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        """A box as read, on the page as its file holds it: the smallest upright box around it there."""
        if self.frame is None:
            return rect
        corners = [self._mapped(x, y) for x, y in ((rect[0], rect[1]), (rect[2], rect[1]),
                                                   (rect[2], rect[3]), (rect[0], rect[3]))]
        xs, ys = [x for x, _ in corners], [y for _, y in corners]
        return (round(min(xs), 1), round(min(ys), 1), round(max(xs), 1), round(max(ys), 1))

    def upright(self) -> int:
        """Quarter turns anticlockwise that stand what was read upright again on the page as its file
        holds it: 0, or 1 and 3 for a page scanned sideways, 2 for one upside down."""
        if self.frame is None:
            return 0
        # Which way the reading's lines run on the file's page.
        (x0, y0), (x1, y1) = self._mapped(0.0, 0.0), self._mapped(100.0, 0.0)
        dx, dy = x1 - x0, y1 - y0
        if abs(dx) >= abs(dy):
            return 0 if dx > 0 else 2
        return 1 if dy > 0 else 3

    def _mapped(self, x: float, y: float) -> tuple[float, float]:
        assert self.frame is not None
        a, b, c, d, e, f, g, h, i = self.frame
        w = g * x + h * y + i
        return (a * x + b * y + c) / w, (d * x + e * y + f) / w

    @property
    def text(self) -> str:
        return "".join(b.text for b in self.boxes)


@dataclass(frozen=True)
class Attachment:
    filename: str          # as the sender named it, decoded; a member of an archive: "材料.zip/申请表.pdf"
    content_type: str      # as declared
    data: bytes
    sniffed: str = ""      # pdf, docx, xlsx, zip, jpeg, png, doc, unknown: from the bytes
    problem: Finding | None = None  # why it could not be unpacked or converted; the original is kept
    readable: bytes = b""  # a copy the readers understand, converted from data (old .doc → .docx)


@dataclass(frozen=True)
class Forwarded:
    """A message carried inside the one received (message/rfc822, an attached .eml): kept as information."""

    subject: str
    sender: str
    sender_name: str
    date: str
    message_id: str


@dataclass(frozen=True)
class Message:
    message_id: str
    subject: str
    sender: str            # bare address, lower case
    sender_name: str
    received_at: datetime  # delivery time from the mailbox, tz-aware
    headers: dict[str, str]
    body: str
    attachments: tuple[Attachment, ...]
    problems: tuple[Finding, ...] = ()
    forwarded: tuple[Forwarded, ...] = ()   # the messages whose attachments became this one's
    auth_results: tuple[str, ...] = ()      # Authentication-Results added on delivery (see mime.delivery_auth)


@dataclass(frozen=True)
class Recommender:
    name: str
    kind: RecommenderKind
    senders: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class SubjectInfo:
    raw: str
    cleaned: str
    conforming: bool        # exactly "XXXX继续教育基地申报"
    related: bool           # looks like a submission at all (near-miss or conforming)
    who: str                # the XXXX part: a recommender or an applicant
    track_hint: Track | None


@dataclass(frozen=True)
class Listed:
    """An applicant as a 推荐函 or 申报汇总表 names it: the name, its track, the rest of its row."""

    name: str
    track: Track | None = None
    fields: dict[str, object] = field(default_factory=dict)          # keys as on the 申请表
    field_confidence: dict[str, float] = field(default_factory=dict)
    confidence: float = 1.0                                         # of the name as read
    source: str = ""                                                # letter | summary


@dataclass(frozen=True)
class Evidence:
    """Where a field's value was read, so that a person can see it on the page.

    bbox and label_bbox are (x0, top, x1, bottom) in points from the top left of the page as its file
    holds it: a PDF's own coordinates; for OCR, the box read mapped back onto that page (a photo counts
    as an A4-wide page), so that it is drawn where the value is on the original. A DOCX or XLSX has no
    pages to point at; its boxes are places in the document's grid of cells, kept for order, not for
    drawing."""

    page: int                                   # 1-based, within the document; 0: not read off a page
    bbox: tuple[float, float, float, float] | None     # the value's boxes together
    label_bbox: tuple[float, float, float, float] | None
    raw: str                                    # the text read, before it was made a value
    confidence: float
    document: str = ""                          # its filename (an archive member: "材料.zip/申请表.pdf")
    method: str = ""                            # text | docx | ocr, as the document was read
    source: str = ""                            # when another source settled the value: 推荐函, 申报汇总表, 邮件标题…
    upright: int = 0                            # Page.upright of its page: a crop turned so to be read


@dataclass(frozen=True)
class Document:
    filename: str
    kind: DocKind
    method: str                                 # text | docx | ocr | none
    pages: tuple[Page, ...] = ()
    fields: dict[str, object] = field(default_factory=dict)
    field_confidence: dict[str, float] = field(default_factory=dict)
    field_evidence: dict[str, Evidence] = field(default_factory=dict)
    data: bytes = b""
    problem: Finding | None = None
    path: str = ""                              # where it was filed, relative to output_dir
    part: str = ""                              # one of several documents in one file: its pages (第2页)
    listed: tuple[Listed, ...] = ()             # the applicants a 推荐函 or 汇总表 names
    missing: dict[str, str] = field(default_factory=dict)  # required fields the form left unread: key → label
    low_confidence: dict[str, str] = field(default_factory=dict)  # fields its problem names as unsure: key → label


@dataclass(frozen=True)
class Application:
    applicant: str
    track: Track
    fields: dict[str, object]
    field_confidence: dict[str, float]
    documents: tuple[Document, ...]
    findings: tuple[Finding, ...] = ()
    status: Status = Status.ACCEPTED
    field_evidence: dict[str, Evidence] = field(default_factory=dict)


@dataclass(frozen=True)
class Submission:
    """One email on its way through the stages; each stage returns a new one."""

    raw: bytes
    received_at: datetime
    message: Message | None = None
    subject: SubjectInfo | None = None
    recommender: Recommender | None = None
    outcome: Outcome = Outcome.SUBMISSION
    reason: str = ""
    documents: tuple[Document, ...] = ()
    applications: tuple[Application, ...] = ()
    findings: tuple[Finding, ...] = ()          # about the message as a whole
    number: int = 0                             # the message's number in the ledger (M<n>), in every filed name

    # The stages after parse and route may count on what those set: these say so, and fail loudly when
    # a stage is run out of its order.
    @property
    def parsed(self) -> Message:
        if self.message is None:
            raise RuntimeError("the message has not been parsed yet")
        return self.message

    @property
    def parsed_subject(self) -> SubjectInfo:
        if self.subject is None:
            raise RuntimeError("the subject has not been read yet")
        return self.subject

    @property
    def loose_documents(self) -> tuple[Document, ...]:
        """Documents of the email as a whole: letters, summary tables, what no applicant claimed."""
        used = {id(d) for a in self.applications for d in a.documents}
        return tuple(d for d in self.documents if id(d) not in used)
