"""inbox_rules.yaml plus the environment, turned into typed, validated configuration."""
from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from .mail.urls import MAILBOX_SCHEMES, OUTBOX_SCHEMES, MailURL, parse_mail_url
from .model import Flag, Recommender, RecommenderKind, Track

DEFAULT_FILE = "inbox_rules.yaml"


class ConfigError(Exception):
    """A wrong configuration: names the key and what was expected. The CLI exits 2 on it."""

    def __init__(self, source: str, key: str, expected: str):
        self.source, self.key, self.expected = source, key, expected
        super().__init__(f"配置错误 / configuration error in {source}: {key}: expected {expected}")


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
    recommenders: tuple[Recommender, ...]
    quotas: Mapping[RecommenderKind, Quota]
    reconfirm_list: tuple[str, ...]
    audit_list: tuple[str, ...]
    rejected_flags: frozenset[Flag]
    review_flags: frozenset[Flag]
    mailbox_password: str = ""
    outbox_password: str = ""

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
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise ConfigError(source, "(file)", f"valid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    return from_mapping(data, file.resolve().parent, environ, source)


def from_mapping(data: Any, base: Path, environ: Mapping[str, str] = os.environ,
                 source: str = DEFAULT_FILE) -> Config:
    r = _Reader(source)
    data = r.mapping(data, "(top level)")
    rnd = r.mapping(data.get("round"), "round")
    office = r.mapping(data.get("office", {}), "office")
    quotas_raw = r.mapping(data.get("quotas"), "quotas")
    lists = r.mapping(data.get("lists", {}), "lists")
    statuses = r.mapping(data.get("statuses", {}), "statuses")

    mailbox = r.url(environ.get("INTAKE_MAILBOX_URL") or r.mapping(data.get("mailbox"), "mailbox").get("url"),
                    "mailbox.url", MAILBOX_SCHEMES, base)
    outbox = r.url(environ.get("INTAKE_OUTBOX_URL") or r.mapping(data.get("outbox"), "outbox").get("url"),
                   "outbox.url", OUTBOX_SCHEMES, base)
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
        poll_every=r.duration(r.mapping(data.get("schedule", {}), "schedule").get("poll_every", "5m"),
                              "schedule.poll_every"),
        max_receipts_per_sender_per_day=r.integer(
            r.mapping(data.get("receipts", {}), "receipts").get("max_per_sender_per_day", 5),
            "receipts.max_per_sender_per_day"),
        recommenders=r.recommenders(data.get("recommenders"), "recommenders"),
        quotas=r.quotas(quotas_raw),
        reconfirm_list=r.names(lists.get("reconfirm", []), "lists.reconfirm"),
        audit_list=r.names(lists.get("audit", []), "lists.audit"),
        rejected_flags=r.flags(statuses.get("rejected", ["late"]), "statuses.rejected"),
        review_flags=r.flags(statuses.get("needs_review", []), "statuses.needs_review"),
        mailbox_password=environ.get("INTAKE_MAILBOX_PASSWORD", ""),
        outbox_password=environ.get("INTAKE_OUTBOX_PASSWORD", ""),
    )


class _Reader:
    """Typed accessors that turn any mistake into a ConfigError naming the key."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, key: str, expected: str) -> ConfigError:
        return ConfigError(self.source, key, expected)

    def mapping(self, value: Any, key: str) -> dict:
        if not isinstance(value, dict):
            raise self.fail(key, f"a mapping of keys, got {_shown(value)}")
        return value

    def text(self, value: Any, key: str, allow_empty: bool = False) -> str:
        if not isinstance(value, str) or (not allow_empty and not value.strip()):
            raise self.fail(key, f"a non-empty text, got {_shown(value)}")
        return value.strip()

    def integer(self, value: Any, key: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.fail(key, f"a whole number ≥ 0, got {_shown(value)}")
        return value

    def deadline(self, value: Any, key: str) -> datetime:
        if isinstance(value, datetime):  # YAML may already have parsed an unquoted timestamp
            parsed = value
        else:
            try:
                parsed = datetime.fromisoformat(self.text(value, key))
            except ValueError:
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
        kinds = [k.value for k in RecommenderKind if k is not RecommenderKind.DIRECT]
        out, seen = [], set()
        for i, item in enumerate(value):
            where = f"{key}[{i}]"
            item = self.mapping(item, where)
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
            out.append(Recommender(name, RecommenderKind(kind), tuple(s.strip().lower() for s in senders),
                                   tuple(a.strip() for a in aliases)))
        return tuple(out)

    def quotas(self, value: dict) -> dict[RecommenderKind, Quota]:
        out = {}
        for kind in (RecommenderKind.CITY, RecommenderKind.DEPARTMENT, RecommenderKind.ENTERPRISE):
            key = f"quotas.{kind.value}"
            q = self.mapping(value.get(kind.value), key)
            total = self.integer(q.get("total"), f"{key}.total")
            per_track = {}
            for track in (Track.GENERAL, Track.RURAL):
                if track.value in q:
                    per_track[track] = self.integer(q[track.value], f"{key}.{track.value}")
            unknown = set(q) - {"total", "general", "rural"}
            if unknown:
                raise self.fail(f"{key}.{sorted(unknown)[0]}", "only total, general and rural")
            out[kind] = Quota(total, per_track)
        return out


def _shown(value: Any) -> str:
    if value is None:
        return "nothing"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
