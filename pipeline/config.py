"""inbox_rules.yaml plus the environment, turned into typed, validated configuration."""
from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from .mail.urls import MAILBOX_SCHEMES, OUTBOX_SCHEMES, MailURL, parse_mail_url
from .model import Flag, Recommender, RecommenderKind, Track

DEFAULT_FILE = "inbox_rules.yaml"

# Which flags block an application when inbox_rules.yaml's `statuses:` leaves a list out (SPEC: the
# rules table and "Status of an application"). The shipped inbox_rules.yaml writes these same lists out
# so the office sees them; tests/unit/test_config.py fails if the two ever differ. Every other flag
# (subject_nonconforming, trainees_below_minimum, superseded) is informational unless the file lists it.
DEFAULT_REJECTED: tuple[Flag, ...] = (Flag.LATE,)
DEFAULT_NEEDS_REVIEW: tuple[Flag, ...] = (
    Flag.UNKNOWN_SENDER,
    Flag.UNVERIFIED_SENDER,
    Flag.MISSING_RECOMMENDATION_LETTER,
    Flag.MISSING_APPLICATION_FORM,
    Flag.QUOTA_EXCEEDED,
    Flag.DUPLICATE_APPLICANT,
    Flag.NOT_ON_RECONFIRM_LIST,
    Flag.NOT_ON_AUDIT_LIST,
    Flag.INVALID_CREDIT_CODE,
    Flag.LOW_CONFIDENCE,
    Flag.UNREADABLE_ATTACHMENT,
    Flag.CLOUD_ATTACHMENT_LINK,
)

# Every key the file may hold, per section: a key outside these is a typo (statuses.need_review would
# otherwise load silently and block nothing), so it is an error that suggests the close valid one.
KNOWN_KEYS: dict[str, tuple[str, ...]] = {
    "(top level)": ("round", "office", "mailbox", "outbox", "output_dir", "templates_dir", "schedule", "receipts",
                    "attachments", "ocr", "processing", "recommenders", "quotas", "lists", "statuses", "outputs", "web"),
    "round": ("name", "deadline", "subject_suffix", "min_trainees"),
    "office": ("name", "email", "address", "postcode", "phone", "contacts", "paper_copies"),
    "mailbox": ("url", "mark", "mark_flag", "move_to", "sent_folder", "idle", "timeout", "retries", "auth_host"),
    "outbox": ("url",),
    "schedule": ("poll_every",),
    "processing": ("max_attempts", "retry_every", "pass_budget"),
    "receipts": ("max_per_sender_per_day", "max_per_hour", "retry_every"),
    "attachments": ("max_total_size", "max_entries", "max_ratio", "max_depth", "converters", "convert_timeout",
                    "max_parts", "parser_memory", "parser_timeout", "max_pdf_pages", "max_cells"),
    "ocr": ("enabled", "workers", "dpi", "min_confidence", "max_pages", "page_timeout", "worker_memory"),
    "recommenders[]": ("name", "kind", "senders", "aliases"),
    "quotas": ("city", "department", "enterprise"),
    "quotas.*": ("total", "general", "rural"),
    "lists": ("reconfirm", "audit"),
    "statuses": ("rejected", "needs_review"),
    "outputs": ("pdf", "pdf_timeout", "cache_size"),
    "web": ("host", "port", "prefix", "https"),
}


class ConfigError(Exception):
    """A wrong configuration: names the key (and its line), what is wrong in Chinese, and what was expected
    in English, showing the value as the clerk wrote it. The CLI exits 2 on it."""

    def __init__(self, source: str, key: str, expected: str, line: int | None = None, zh: str = ""):
        self.source, self.key, self.expected, self.line = source, key, expected, line
        where = f"，第{line}行 / line {line}" if line else ""
        zh = zh or _chinese(expected)
        super().__init__(f"配置错误 / configuration error in {source}{where}: {key}：{zh} / expected {expected}")


# What each kind of expectation means, for the clerk who edits the file (first match wins).
_ZH = (("a mapping of keys", "应为一组“键: 值”"), ("a known key", "不是可用的键"), ("a non-empty text", "应为非空文字"),
       ("an IMAP keyword", "应为由英文字母、数字组成的标记"), ("true or false", "应为 true 或 false"),
       ("a whole number", "应为整数"), ("a date-time", '应为带时区的日期时间，并加引号，如 "2019-09-22T23:59:59+08:00"'),
       ("a duration", '应为时长，如 "30s"、"5m"、"1h"'), ("a size", '应为大小，如 "200MB"'),
       ("a name not used twice", "名称重复"), ("an address no other", "同一发件地址登记在两个推荐单位下，无法判断邮件来自哪一个"),
       ("one of", "取值不在可选范围内"), ("flag codes", "含有不认识的问题代码"), ("a list", "应为列表"),
       ("valid YAML", "文件格式有误"), ("UTF-8", "文件应以 UTF-8 编码保存"), ("an existing", "找不到配置文件"),
       ("a number", "应为数字"), ("a resolution", "分辨率超出范围"), ("flags not also", "同一问题代码不能同时列在两处"),
       ("at least", "取值过小"), ("max_entries", "取值过小"))


def _chinese(expected: str) -> str:
    return next((zh for start, zh in _ZH if expected.startswith(start)), "取值有误")


def _locations(text: str) -> dict[str, tuple[int, str]]:
    """Every key path of the file ("round.deadline", "recommenders[3].kind") → (its line, the value as
    written, for a scalar): errors name where the clerk should look and what they typed."""
    out: dict[str, tuple[int, str]] = {}

    def walk(node: yaml.Node, path: str) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                sub = f"{path}.{key.value}" if path else str(key.value)
                out[sub] = (key.start_mark.line + 1, value.value if isinstance(value, yaml.ScalarNode) else "")
                walk(value, sub)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                out[f"{path}[{i}]"] = (item.start_mark.line + 1, item.value if isinstance(item, yaml.ScalarNode) else "")
                walk(item, f"{path}[{i}]")

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return out
    if root is not None:
        walk(root, "")
    return out


# "min_trainees：2000": a full-width colon, typed with a Chinese input method, makes the line no key at all.
_FULL_WIDTH_KEY = re.compile(r"^\s*-?\s*[A-Za-z_][\w.-]*\s*：")


def _yaml_trouble(text: str, exc: yaml.YAMLError) -> tuple[int | None, str, str]:
    """(line, English, Chinese) for a file YAML cannot read, pointing at the line a person would mend."""
    for number, line in enumerate(text.splitlines(), start=1):
        if _FULL_WIDTH_KEY.match(line):
            return number, f"valid YAML: a full-width colon in {line.strip()!r}; write a half-width colon and a space",\
                "键与值之间用了全角冒号“：”，请改为半角冒号加空格“: ”"
        if "\t" in line[: len(line) - len(line.lstrip())]:
            return number, "valid YAML: a tab in the indentation; indent with spaces", "缩进中有制表符（Tab），请改用空格缩进"
    mark = getattr(exc, "problem_mark", None)
    return (mark.line + 1 if mark else None), f"valid YAML: {getattr(exc, 'problem', exc)}", "文件格式有误"


@dataclass(frozen=True)
class Round:
    name: str
    deadline: datetime
    subject_suffix: str
    min_trainees: int


@dataclass(frozen=True)
class Office:
    name: str
    email: str
    address: str
    postcode: str
    phone: str
    contacts: str
    paper_copies: int


@dataclass(frozen=True)
class Quota:
    total: int
    per_track: Mapping[Track, int]


@dataclass(frozen=True)
class MailOptions:
    """How intake treats the office's IMAP mailbox (the mailbox: section besides its url)."""

    mark: str = "flag"                 # flag: add mark_flag; move: move to move_to; none: leave as is
    mark_flag: str = "$IntakeDone"
    move_to: str = "已处理"
    sent_folder: str = "Sent"          # receipts are appended here; empty: keep no copy
    idle: bool = True
    timeout: float = 60.0              # seconds, every socket operation
    retries: int = 5                   # reconnect attempts, with backoff, before a pass gives up
    # The office's receiving server as it names itself in Authentication-Results (e.g. mx.shandong.cn):
    # its SPF/DKIM/DMARC verdicts are read; empty: none are.
    auth_host: str = ""


@dataclass(frozen=True)
class AttachmentLimits:
    """How far intake opens what senders attach (the attachments: section): archives and converters."""

    max_total_bytes: int = 200 * 1024 * 1024   # all that is unpacked from one message, together
    max_entries: int = 1000                     # files in all the archives of one message, together
    max_ratio: int = 100                        # uncompressed ÷ compressed size of one entry
    max_depth: int = 3                          # archives inside archives, forwards inside forwards
    converters: tuple[str, ...] = ("soffice", "7z", "unrar")   # used when installed
    convert_timeout: timedelta = timedelta(minutes=2)
    max_parts: int = 200                        # attachments one message may carry; the rest is not read
    parser_memory: int = 1536 * 1024 * 1024     # a caged reader's address space (pipeline/cage.py)
    parser_timeout: timedelta = timedelta(seconds=60)   # one document's reading, CPU time (cage.Limits)
    max_pdf_pages: int = 40                     # text pages of one PDF read at most
    max_cells: int = 1_000_000                  # a sheet's area (its dimension, its merged cells) in cells


@dataclass(frozen=True)
class OcrOptions:
    """How scanned pages and photos are read (the ocr: section)."""

    enabled: bool = True
    workers: int = 2                   # OCR processes during a pass; each loads the models once
    dpi: int = 200                     # resolution pages are rendered at for OCR
    min_confidence: float = 0.85       # a required field read below this is flagged for a person
    max_pages: int = 10                # pages of one form, letter or table read at most
    page_timeout: float = 300.0        # seconds one page may take before its worker is stopped
    worker_memory: int = 4 * 1024 ** 3  # each worker's address space (a normal page peaks near 1.5 GB of it)


@dataclass(frozen=True)
class Processing:
    """How a message that met a passing fault (full disk, locked ledger, dead worker) is tried again."""

    max_attempts: int = 5                      # then it goes to a person, with the error
    retry_every: timedelta = timedelta(minutes=5)   # the first wait; it doubles, up to MAX_RETRY_WAIT
    # A pass takes in new mail for this long, then answers what it took; the next pass takes the rest.
    pass_budget: timedelta = timedelta(minutes=10)

    def wait(self, failures: int) -> timedelta:
        return min(self.retry_every * 2 ** max(failures - 1, 0), MAX_RETRY_WAIT)


MAX_RETRY_WAIT = timedelta(hours=2)


@dataclass(frozen=True)
class WebOptions:
    """The clerks' console (the web: section): where it listens, and the path a reverse proxy gives it."""

    host: str = "127.0.0.1"
    port: int = 8080
    prefix: str = ""                   # "/intake" behind a proxy serving https://intranet/intake/
    https: bool = False                # the proxy speaks HTTPS: session cookies are marked Secure


@dataclass(frozen=True)
class Config:
    source: Path
    round: Round
    office: Office
    mailbox: MailURL
    outbox: MailURL
    output_dir: Path
    templates_dir: Path
    poll_every: timedelta
    max_receipts_per_sender_per_day: int
    max_receipts_per_hour: int
    receipt_retry_every: timedelta
    imap: MailOptions
    recommenders: tuple[Recommender, ...]
    quotas: Mapping[RecommenderKind, Quota]
    reconfirm_list: tuple[str, ...]
    audit_list: tuple[str, ...]
    rejected_flags: frozenset[Flag]
    review_flags: frozenset[Flag]
    # Never shown: not in repr(), so not in a traceback, a log line or a test's failure message.
    mailbox_password: str = field(default="", repr=False)
    outbox_password: str = field(default="", repr=False)
    ocr: OcrOptions = OcrOptions()
    attachments: AttachmentLimits = AttachmentLimits()
    pdf: bool = True                                   # outputs.pdf: PDF copies when LibreOffice is installed
    pdf_timeout: timedelta = timedelta(minutes=3)      # outputs.pdf_timeout
    cache_size: int = 2 * 1024 ** 3                    # outputs.cache_size: kept OCR readings and drawn pages
    processing: Processing = Processing()
    web: WebOptions = WebOptions()

    @property
    def ledger_path(self) -> Path:
        return self.output_dir / "intake.sqlite3"


def load(path: str | os.PathLike | None = None, environ: Mapping[str, str] = os.environ) -> Config:
    """Read the file named by path, else INTAKE_CONFIG, else ./inbox_rules.yaml."""
    file = Path(path or environ.get("INTAKE_CONFIG") or DEFAULT_FILE)
    source = str(file)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(source, "(file)", "an existing inbox_rules.yaml (set INTAKE_CONFIG or --config)") from None
    except UnicodeDecodeError:
        raise ConfigError(source, "(file)", "UTF-8 text") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        line, expected, zh = _yaml_trouble(text, exc)
        raise ConfigError(source, "(file)", expected, line, zh) from None
    return from_mapping(data, file.resolve().parent, environ, source, _locations(text))


def from_mapping(data: Any, base: Path, environ: Mapping[str, str] = os.environ,
                 source: str = DEFAULT_FILE, located: Mapping[str, tuple[int, str]] | None = None) -> Config:
    r = _Reader(source, located or {})
    data = r.section(data, "(top level)")
    rnd = r.section(data.get("round"), "round")
    office = r.section(data.get("office", {}), "office")
    quotas_raw = r.section(data.get("quotas"), "quotas")
    lists = r.section(data.get("lists", {}), "lists")
    statuses = r.section(data.get("statuses", {}), "statuses")
    schedule = r.section(data.get("schedule", {}), "schedule")
    outputs = r.section(data.get("outputs", {}), "outputs")

    mailbox_raw = r.section(data.get("mailbox"), "mailbox")
    mailbox = r.url(environ.get("INTAKE_MAILBOX_URL") or mailbox_raw.get("url"), "mailbox.url", MAILBOX_SCHEMES, base)
    receipts = r.section(data.get("receipts", {}), "receipts")
    outbox = r.url(environ.get("INTAKE_OUTBOX_URL") or r.section(data.get("outbox"), "outbox").get("url"),
                   "outbox.url", OUTBOX_SCHEMES, base)
    rejected_flags, review_flags = r.statuses(statuses)
    output_dir = r.path(environ.get("INTAKE_OUTPUT_DIR") or data.get("output_dir", "./output"), "output_dir", base)

    return Config(
        source=Path(source),
        round=Round(
            name=r.text(rnd.get("name"), "round.name"),
            deadline=r.deadline(rnd.get("deadline"), "round.deadline"),
            subject_suffix=r.text(rnd.get("subject_suffix", "继续教育基地申报"), "round.subject_suffix"),
            min_trainees=r.integer(rnd.get("min_trainees", 2000), "round.min_trainees"),
        ),
        office=Office(
            name=r.text(office.get("name", "山东省人力资源和社会保障厅专业技术人员管理处"), "office.name"),
            email=r.text(office.get("email", "ymrst@shandong.cn"), "office.email"),
            address=r.text(office.get("address", "济南市解放东路16号"), "office.address"),
            postcode=r.text(str(office.get("postcode", "250014")), "office.postcode"),
            phone=r.text(str(office.get("phone", "")), "office.phone", allow_empty=True),
            contacts=r.text(str(office.get("contacts", "")), "office.contacts", allow_empty=True),
            paper_copies=r.integer(office.get("paper_copies", 3), "office.paper_copies"),
        ),
        mailbox=mailbox,
        outbox=outbox,
        output_dir=output_dir,
        templates_dir=r.path(data.get("templates_dir", "./templates"), "templates_dir", base),
        poll_every=r.duration(schedule.get("poll_every", "5m"), "schedule.poll_every"),
        max_receipts_per_sender_per_day=r.integer(receipts.get("max_per_sender_per_day", 5),
                                                  "receipts.max_per_sender_per_day"),
        max_receipts_per_hour=r.integer(receipts.get("max_per_hour", 60), "receipts.max_per_hour") or 1,
        receipt_retry_every=r.duration(receipts.get("retry_every", "1m"), "receipts.retry_every"),
        imap=r.mail_options(mailbox_raw),
        recommenders=r.recommenders(data.get("recommenders"), "recommenders"),
        quotas=r.quotas(quotas_raw),
        reconfirm_list=r.names(lists.get("reconfirm", []), "lists.reconfirm"),
        audit_list=r.names(lists.get("audit", []), "lists.audit"),
        rejected_flags=rejected_flags,
        review_flags=review_flags,
        mailbox_password=environ.get("INTAKE_MAILBOX_PASSWORD", ""),
        outbox_password=environ.get("INTAKE_OUTBOX_PASSWORD", ""),
        ocr=r.ocr_options(r.section(data.get("ocr", {}), "ocr")),
        attachments=r.attachment_limits(r.section(data.get("attachments", {}), "attachments")),
        pdf=r.boolean(outputs.get("pdf", True), "outputs.pdf"),
        pdf_timeout=r.duration(outputs.get("pdf_timeout", "3m"), "outputs.pdf_timeout"),
        cache_size=r.size(outputs.get("cache_size", "2GB"), "outputs.cache_size"),
        processing=r.processing(r.section(data.get("processing", {}), "processing")),
        web=r.web(r.section(data.get("web", {}), "web")),
    )


class _Reader:
    """Typed accessors that turn any mistake into a ConfigError naming the key."""

    def __init__(self, source: str, located: Mapping[str, tuple[int, str]] | None = None):
        self.source = source
        self.located = located or {}
        self.unit_names: list[str] = []   # the recommenders' names as listed, to name one in an error

    def fail(self, key: str, expected: str, zh: str = "") -> ConfigError:
        """The error, at the line of the key (or of the nearest section that has one), with the value as
        written in the file rather than as YAML read it (2019-09-22, not datetime.date(2019, 9, 22)), and a
        recommender named by its name rather than its place in the list."""
        path = key
        while path and path not in self.located:
            path = path.rpartition(".")[0] if "." in path else path.rpartition("[")[0]
        line, written = self.located.get(path, (None, ""))
        if written and path == key and " got " in expected:
            expected = expected.rpartition(" got ")[0] + f" got {written!r}"
        return ConfigError(self.source, self._named(key), expected, line, zh)

    def _named(self, key: str) -> str:
        def name(m: re.Match) -> str:
            i = int(m.group(1))
            unit = self.unit_names[i] if i < len(self.unit_names) else ""
            return f"recommenders 第{i + 1}项" + (f"（{unit}）" if unit else "")
        return re.sub(r"recommenders\[(\d+)\]", name, key)

    def mapping(self, value: Any, key: str) -> dict:
        if not isinstance(value, dict):
            raise self.fail(key, f"a mapping of keys, got {_shown(value)}")
        return value

    def section(self, value: Any, key: str, known: str | None = None) -> dict:
        """A mapping whose keys must all be known (KNOWN_KEYS[known or key])."""
        value = self.mapping(value, key)
        self.known_keys(value, key, KNOWN_KEYS[known or key])
        return value

    def known_keys(self, value: dict, key: str, allowed: Iterable[str]) -> None:
        allowed = tuple(allowed)
        for name in value:
            if name in allowed:
                continue
            where = str(name) if key == "(top level)" else f"{key}.{name}"
            close = difflib.get_close_matches(str(name), allowed, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise self.fail(where, f"a known key ({', '.join(allowed)}), not {str(name)!r}{hint}")

    def statuses(self, value: dict) -> tuple[frozenset[Flag], frozenset[Flag]]:
        """statuses.rejected and statuses.needs_review; a list left out takes its default from SPEC."""
        rejected = self.flags(value.get("rejected", [f.value for f in DEFAULT_REJECTED]), "statuses.rejected")
        review = self.flags(value.get("needs_review", [f.value for f in DEFAULT_NEEDS_REVIEW]),
                            "statuses.needs_review")
        both = sorted(f.value for f in rejected & review)
        if both:
            raise self.fail("statuses.needs_review", f"flags not also listed under statuses.rejected; "
                                                      f"{', '.join(both)} is in both")
        return rejected, review

    def text(self, value: Any, key: str, allow_empty: bool = False) -> str:
        if not isinstance(value, str) or (not allow_empty and not value.strip()):
            raise self.fail(key, f"a non-empty text, got {_shown(value)}")
        return value.strip()

    def keyword(self, value: Any, key: str) -> str:
        """An IMAP keyword is an ASCII atom (RFC 3501): no spaces, brackets, quotes, no Chinese."""
        text = self.text(value, key)
        if not re.fullmatch(r"\$?[A-Za-z0-9_.\-]+", text):
            raise self.fail(key, f"an IMAP keyword of ASCII letters, digits, _ . - (e.g. $IntakeDone), got {_shown(value)}")
        return text

    def boolean(self, value: Any, key: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(key, f"true or false, got {_shown(value)}")
        return value

    def integer(self, value: Any, key: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.fail(key, f"a whole number ≥ 0, got {_shown(value)}")
        return value

    def deadline(self, value: Any, key: str) -> datetime:
        if isinstance(value, datetime):  # YAML may already have parsed an unquoted timestamp
            parsed = value
        elif isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value.strip())
            except ValueError:
                parsed = None
        else:   # an unquoted day, which YAML reads as a date with no time and no zone
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            raise self.fail(key, f'a date-time with its UTC offset like "2019-09-22T23:59:59+08:00", got {_shown(value)}')
        return parsed

    def duration(self, value: Any, key: str) -> timedelta:
        m = re.fullmatch(r"\s*(\d+)\s*([smhd])\s*", str(value)) if isinstance(value, (str, int)) else None
        if not m or int(m.group(1)) == 0:
            raise self.fail(key, f'a duration like "30s", "5m", "1h", got {_shown(value)}')
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[m.group(2)]
        return timedelta(**{unit: int(m.group(1))})

    def path(self, value: Any, key: str, base: Path) -> Path:
        p = Path(self.text(value, key)).expanduser()
        return p if p.is_absolute() else (base / p)

    def url(self, value: Any, key: str, schemes: tuple[str, ...], base: Path) -> MailURL:
        try:
            return parse_mail_url(value, schemes, base)
        except ValueError as exc:
            raise self.fail(key, str(exc)) from None

    def mail_options(self, value: dict) -> MailOptions:
        d = MailOptions()
        mark = value.get("mark", d.mark)
        if mark not in ("flag", "move", "none"):
            raise self.fail("mailbox.mark", f"flag, move or none, got {_shown(mark)}")
        idle = value.get("idle", d.idle)
        if not isinstance(idle, bool):
            raise self.fail("mailbox.idle", f"true or false, got {_shown(idle)}")
        timeout = value.get("timeout", d.timeout)
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            raise self.fail("mailbox.timeout", f"a number of seconds > 0, got {_shown(timeout)}")
        return MailOptions(
            mark=mark,
            mark_flag=self.keyword(value.get("mark_flag", d.mark_flag), "mailbox.mark_flag"),
            move_to=self.text(value.get("move_to", d.move_to), "mailbox.move_to"),
            sent_folder=self.text(value.get("sent_folder", d.sent_folder), "mailbox.sent_folder", allow_empty=True),
            idle=idle,
            timeout=float(timeout),
            retries=self.integer(value.get("retries", d.retries), "mailbox.retries") or 1,
            auth_host=self.text(value.get("auth_host", d.auth_host), "mailbox.auth_host", allow_empty=True),
        )

    def processing(self, value: dict) -> Processing:
        d = Processing()
        attempts = self.integer(value.get("max_attempts", d.max_attempts), "processing.max_attempts")
        if attempts < 1:
            raise self.fail("processing.max_attempts", "a whole number of at least 1")
        return Processing(attempts, self.duration(value.get("retry_every", "5m"), "processing.retry_every"),
                          self.duration(value.get("pass_budget", "10m"), "processing.pass_budget"))

    def web(self, value: dict) -> WebOptions:
        d = WebOptions()
        port = self.integer(value.get("port", d.port), "web.port")
        if not 1 <= port <= 65535:
            raise self.fail("web.port", f"a port between 1 and 65535, got {port}")
        prefix = self.text(value.get("prefix", d.prefix), "web.prefix", allow_empty=True).rstrip("/")
        if prefix and (not prefix.startswith("/") or any(c in prefix for c in "?#\\ ")):
            raise self.fail("web.prefix", f"a path beginning with / (such as /intake), got {_shown(prefix)}")
        return WebOptions(host=self.text(value.get("host", d.host), "web.host"), port=port, prefix=prefix,
                          https=self.boolean(value.get("https", d.https), "web.https"))

    def attachment_limits(self, value: dict) -> AttachmentLimits:
        d = AttachmentLimits()
        converters = value.get("converters", list(d.converters))
        known = ("soffice", "7z", "unrar")
        if not isinstance(converters, list) or any(c not in known for c in converters):
            raise self.fail("attachments.converters", f"a list among {', '.join(known)}, got {_shown(converters)}")
        limits = AttachmentLimits(
            max_total_bytes=self.size(value.get("max_total_size", d.max_total_bytes), "attachments.max_total_size"),
            max_entries=self.integer(value.get("max_entries", d.max_entries), "attachments.max_entries"),
            max_ratio=self.integer(value.get("max_ratio", d.max_ratio), "attachments.max_ratio"),
            max_depth=self.integer(value.get("max_depth", d.max_depth), "attachments.max_depth"),
            converters=tuple(converters),
            convert_timeout=self.duration(value.get("convert_timeout", "2m"), "attachments.convert_timeout"),
            max_parts=self.integer(value.get("max_parts", d.max_parts), "attachments.max_parts") or 1,
            parser_memory=self.size(value.get("parser_memory", "1536MB"), "attachments.parser_memory"),
            parser_timeout=self.duration(value.get("parser_timeout", "60s"), "attachments.parser_timeout"),
            max_pdf_pages=self.integer(value.get("max_pdf_pages", d.max_pdf_pages), "attachments.max_pdf_pages") or 1,
            max_cells=self.integer(value.get("max_cells", d.max_cells), "attachments.max_cells") or 1,
        )
        if limits.parser_memory < 768 * 1024 * 1024:
            # The reader itself, loaded, takes about 550 MB of address space before it opens anything.
            raise self.fail("attachments.parser_memory", "at least 768MB (the reader alone takes about 550MB)")
        if limits.max_entries == 0 or limits.max_ratio == 0:
            raise self.fail("attachments", "max_entries and max_ratio of at least 1")
        return limits

    def size(self, value: Any, key: str) -> int:
        units = {"": 1, "B": 1, "K": 1024, "KB": 1024, "M": 1024 ** 2, "MB": 1024 ** 2, "G": 1024 ** 3, "GB": 1024 ** 3}
        m = re.fullmatch(r"\s*(\d+)\s*([KMG]?B?)\s*", str(value).upper()) if isinstance(value, (str, int)) \
            and not isinstance(value, bool) else None
        if not m or m.group(2) not in units or int(m.group(1)) == 0:
            raise self.fail(key, f'a size like "200MB", "512KB", got {_shown(value)}')
        return int(m.group(1)) * units[m.group(2)]

    def ocr_options(self, value: dict) -> OcrOptions:
        d = OcrOptions()
        enabled = value.get("enabled", d.enabled)
        if not isinstance(enabled, bool):
            raise self.fail("ocr.enabled", f"true or false, got {_shown(enabled)}")
        dpi = self.integer(value.get("dpi", d.dpi), "ocr.dpi")
        if not 72 <= dpi <= 600:
            raise self.fail("ocr.dpi", f"a resolution between 72 and 600, got {dpi}")
        confidence = value.get("min_confidence", d.min_confidence)
        if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0 <= confidence <= 1:
            raise self.fail("ocr.min_confidence", f"a number between 0 and 1, got {_shown(confidence)}")
        timeout = value.get("page_timeout", d.page_timeout)
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            raise self.fail("ocr.page_timeout", f"seconds, a number above 0, got {_shown(timeout)}")
        return OcrOptions(enabled=enabled, workers=self.integer(value.get("workers", d.workers), "ocr.workers") or 1,
                          dpi=dpi, min_confidence=float(confidence),
                          max_pages=self.integer(value.get("max_pages", d.max_pages), "ocr.max_pages") or 1,
                          page_timeout=float(timeout),
                          worker_memory=self.size(value.get("worker_memory", "4GB"), "ocr.worker_memory"))

    def names(self, value: Any, key: str) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail(key, f"a list of unit names, got {_shown(value)}")
        return tuple(v.strip() for v in value)

    def flags(self, value: Any, key: str) -> frozenset[Flag]:
        if not isinstance(value, list):
            raise self.fail(key, f"a list of flag codes, got {_shown(value)}")
        known = {f.value for f in Flag}
        for v in value:
            if v not in known:
                raise self.fail(key, f"flag codes among {', '.join(sorted(known))}; unknown {_shown(v)}")
        return frozenset(Flag(v) for v in value)

    def recommenders(self, value: Any, key: str) -> tuple[Recommender, ...]:
        if not isinstance(value, list) or not value:
            raise self.fail(key, f"a list of recommenders, got {_shown(value)}")
        self.unit_names = [str(item.get("name") or "") if isinstance(item, dict) else "" for item in value]
        kinds = [k.value for k in RecommenderKind if k is not RecommenderKind.DIRECT]
        out, seen = [], set()
        owners: dict[str, str] = {}   # sender entry → the recommender listing it
        for i, item in enumerate(value):
            where = f"{key}[{i}]"
            item = self.section(item, where, "recommenders[]")
            name = self.text(item.get("name"), f"{where}.name")
            if name in seen:
                raise self.fail(f"{where}.name", f"a name not used twice, {name!r} is")
            seen.add(name)
            kind = item.get("kind")
            if kind not in kinds:
                raise self.fail(f"{where}.kind", f"one of {', '.join(kinds)}, got {_shown(kind)}")
            senders = item.get("senders", [])
            if not isinstance(senders, list) or not all(isinstance(s, str) and "@" in s for s in senders):
                raise self.fail(f"{where}.senders", f'a list of addresses or "@domain" entries, got {_shown(senders)}')
            aliases = item.get("aliases", [])
            if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip() for a in aliases):
                raise self.fail(f"{where}.aliases", f"a list of short names, got {_shown(aliases)}")
            for entry in (s.strip().lower() for s in senders):
                if owners.get(entry, name) != name:
                    # Mail from it would be filed under whichever comes first: a guess, not a rule.
                    raise self.fail(f"{where}.senders", f"an address no other recommender lists; {entry!r} is also "
                                                        f"under {owners[entry]}")
                owners[entry] = name
            out.append(Recommender(name, RecommenderKind(kind), tuple(s.strip().lower() for s in senders),
                                   tuple(a.strip() for a in aliases)))
        return tuple(out)

    def quotas(self, value: dict) -> dict[RecommenderKind, Quota]:
        out = {}
        for kind in (RecommenderKind.CITY, RecommenderKind.DEPARTMENT, RecommenderKind.ENTERPRISE):
            key = f"quotas.{kind.value}"
            q = self.section(value.get(kind.value), key, "quotas.*")
            total = self.integer(q.get("total"), f"{key}.total")
            per_track = {}
            for track in (Track.GENERAL, Track.RURAL):
                if track.value in q:
                    per_track[track] = self.integer(q[track.value], f"{key}.{track.value}")
            out[kind] = Quota(total, per_track)
        return out


def _shown(value: Any) -> str:
    if value is None:
        return "nothing"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
