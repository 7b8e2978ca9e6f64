"""The notice's rules across the whole round, recomputed from every message of it. Pure.

Per-message checks (pipeline/rules.py) see one email; these need them all: exact duplicate emails,
resubmissions (a later email for the same recommender and applicant replaces the earlier one),
quotas per recommender and track (通知三（一）), 多头申报 (四（三）), applicants a 推荐函 or 汇总表 names
whose 申请表 never came, and the 附件3/附件4 lists (三（三）、三（四）). The clerk's corrections and
decisions are applied here too, so that every output agrees with them.

Who filed an application (its *filer*) is the recommender, except for a sender that matched none:
then it is that sender's address, so that two unknown senders never replace each other's applications
nor count as one recommender in the 多头申报 check.
"""
from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cached_property

from ..config import Config
from ..dates import day_text, moment_text
from ..model import Finding, Flag, RecommenderKind, Status, Track
from ..names import key, on_list, same_unit
from ..read.forms import FieldNames, field_names
from ..route import Directory
from ..rules import FIELD_FLAGS, credit_code_valid, field_findings, status_for
from .target import HANDLED, Entry, Kind, Target

# Recommenders with a quota and registered sender addresses: only those can be spoken for by a stranger.
_REGISTERED_KINDS = frozenset({RecommenderKind.CITY.value, RecommenderKind.DEPARTMENT.value,
                               RecommenderKind.ENTERPRISE.value})
# What the ledger stores as the recommender of an email whose sender matched none (pipeline/flow.py).
UNKNOWN_RECOMMENDER = "未识别推荐单位"
# Round-level review items are numbered (round/target.py) from the configured lists and the stored
# emails alone, so that their numbers stay the same from pass to pass.


def confirmed_senders(corrections: Iterable[Correction]) -> dict[str, str]:
    """Addresses a clerk confirmed for good (--remember-sender): address → the recommender it speaks for."""
    out: dict[str, str] = {}
    for c in corrections:
        if c.field != Entry.SENDER_OK:
            continue
        value = c.value
        if isinstance(value, dict) and value.get("remember") and value.get("address"):
            out[str(value["address"]).lower()] = str(value.get("recommender", ""))
    return out


def filer_label(recommender: str, kind: str, sender: str, message: int) -> str:
    """The filer of an email, as every table and list names it: its recommender, or for a sender
    that matched none, that sender (SPEC: unknown_sender)."""
    if kind or recommender != UNKNOWN_RECOMMENDER:
        return recommender
    return f"{UNKNOWN_RECOMMENDER}（{sender or f'无发件地址，邮件M{message}'}）"


# ---------------------------------------------------------------- what the ledger knows

@dataclass(frozen=True)
class Named:
    """An applicant a 推荐函 or 汇总表 lists."""

    name: str
    track: Track | None
    source: str                 # 推荐函 | 申报汇总表


@dataclass(frozen=True)
class MessageFacts:
    id: int
    message_id: str
    sha256: str
    received_at: datetime
    outcome: str
    recommender: str
    recommender_kind: str
    subject: str = ""
    named: tuple[Named, ...] = ()
    filler: str = ""            # 填表人 or the letter's 联系人
    phone: str = ""
    has_letter: bool = False    # a 推荐函 came with it
    sender: str = ""            # bare address: the filer when the recommender is unknown
    filled_on: str = ""         # 填报日期 as its 汇总表 (or 推荐函) gives it, if read


@dataclass(frozen=True)
class AppFacts:
    id: int
    message: int
    received_at: datetime
    recommender: str
    recommender_kind: str
    applicant: str
    track: Track
    fields: Mapping[str, object]
    findings: tuple[Finding, ...]           # the message's own checks, as stored
    has_form: bool = True                   # False: a 推荐函/汇总表 names it, its 申请表 did not come


@dataclass(frozen=True)
class Correction:
    target: Target
    field: str
    value: object
    by: str
    at: str
    source: str = "cli"


# ---------------------------------------------------------------- what the assessment says

@dataclass(frozen=True)
class Decision:
    status: str                 # accepted | needs_review | rejected | handled
    by: str
    at: str
    flags: frozenset[Flag]      # the blocking flags the clerk saw when deciding
    stale: bool = False         # a blocking flag appeared since: the decision no longer holds


@dataclass(frozen=True)
class Note:
    text: str
    by: str
    at: str


@dataclass(frozen=True)
class Paper:
    copies: int
    on: str                     # the day they arrived, as the clerk wrote it
    by: str
    at: str


@dataclass(frozen=True)
class Verdict:
    """One application as the round sees it, the clerk's corrections applied."""

    id: int
    message: int
    received_at: datetime
    recommender: str
    recommender_kind: str
    applicant: str
    track: Track
    fields: Mapping[str, object]
    findings: tuple[Finding, ...]
    status: Status
    computed_status: Status                 # before the clerk's decision
    superseded_by: int | None = None
    corrected: Mapping[str, Correction] = field(default_factory=dict)
    decision: Decision | None = None
    notes: tuple[Note, ...] = ()
    paper: Paper | None = None
    quota_place: bool = False               # takes one of its recommender's places (通知三（一）)

    @property
    def current(self) -> bool:
        return self.superseded_by is None

    @property
    def flags(self) -> tuple[Flag, ...]:
        return tuple(dict.fromkeys(f.flag for f in self.findings))


@dataclass(frozen=True)
class MissingForm:
    recommender: str
    name: str
    track: Track | None
    source: str
    message: int
    index: int = 1              # its place in that email's named applicants, from 1
    decision: Decision | None = None
    notes: tuple[Note, ...] = ()

    @property
    def target(self) -> Target:
        return Target.form(self.message, self.index)


@dataclass(frozen=True)
class ListEntry:
    """A unit on the 附件3 or 附件4 list and whether it has applied."""

    name: str
    state: str                  # applied | late | missing
    application: int | None = None
    target: Target | None = None    # R<n> / S<n>: its place on the list
    decision: Decision | None = None
    notes: tuple[Note, ...] = ()


@dataclass(frozen=True)
class MessageVerdict:
    id: int
    duplicate_of: int | None = None
    decision: Decision | None = None
    notes: tuple[Note, ...] = ()
    recommender: str = ""       # its filer (see filer_label)


@dataclass(frozen=True)
class Assessment:
    verdicts: tuple[Verdict, ...]           # every application of every message that is not a duplicate
    messages: Mapping[int, MessageVerdict]
    missing_forms: tuple[MissingForm, ...]
    reconfirm: tuple[ListEntry, ...]
    audit: tuple[ListEntry, ...]
    overdue: bool                           # the deadline has passed: what is missing now is missing for good
    contacts: Mapping[str, tuple[str, str]]  # recommender → (填表人, 联系电话) from its letters and tables
    unknown_targets: tuple[Correction, ...] = ()
    filled_on: Mapping[str, str] = field(default_factory=dict)  # recommender → 填报日期 for its 附件2

    # Computed once: callers ask per message and per row (`m in result.duplicates`), over thousands.
    @cached_property
    def current(self) -> tuple[Verdict, ...]:
        return tuple(v for v in self.verdicts if v.current)

    @cached_property
    def duplicates(self) -> dict[int, int]:
        return {m.id: m.duplicate_of for m in self.messages.values() if m.duplicate_of is not None}

    def verdict(self, app_id: int) -> Verdict | None:
        return next((v for v in self.verdicts if v.id == app_id), None)

    def round_item(self, target: Target) -> MissingForm | ListEntry | None:
        """A round-level review item by its number (R<n>, S<n>, F<message>-<k>)."""
        items: tuple[MissingForm | ListEntry, ...] = (*self.missing_forms, *self.reconfirm, *self.audit)
        return next((x for x in items if x.target == target), None)


# ---------------------------------------------------------------- the assessment

def assess(messages: Sequence[MessageFacts], applications: Sequence[AppFacts],
           corrections: Sequence[Correction], config: Config, now: datetime) -> Assessment:
    # Every list and table names an unknown sender's email by its address: see filer_label.
    messages = [replace(m, recommender=filer_label(m.recommender, m.recommender_kind, m.sender, m.id))
                for m in messages]
    filers = {m.id: m.recommender for m in messages}
    applications = [a if a.recommender_kind else replace(a, recommender=filers.get(a.message, a.recommender))
                    for a in applications]
    ordered = sorted(messages, key=lambda m: (m.received_at, m.id))
    duplicates = _duplicates(sorted(messages, key=lambda m: m.id))
    by_target = _by_target(corrections)
    overdue = now > config.round.deadline

    apps = sorted((a for a in applications if a.message not in duplicates),
                  key=lambda a: (a.received_at, a.message, a.id))
    form_fields = field_names(config.templates_dir)
    corrected = [_corrected(a, by_target.get(Target.application(a.id), {}), form_fields) for a in apps]
    confirmed = {m.id for m in messages if by_target.get(Target.message(m.id), {}).get(Entry.SENDER_OK)}
    strangers = _unverified(messages, confirmed, confirmed_senders(corrections), config)
    # Spoken for by a sender nobody has vouched for, or by no recommender at all: it supersedes no one,
    # takes no place, and makes no 多头申报 of a recommender's application (a stranger's copy of a form).
    doubtful = {a.id for a, _ in corrected if a.message in strangers or not a.recommender_kind or (
        a.message not in confirmed and any(f.flag is Flag.UNVERIFIED_SENDER for f in a.findings))}
    superseded = _resubmissions([a for a, _ in corrected], by_target, config, doubtful)
    live = [a for a, _ in corrected if a.id not in superseded]
    live_messages = [m for m in ordered if m.id not in duplicates]
    taking_part = [a for a in live if a.id not in doubtful and _takes_part(a, by_target, config)]

    round_found: dict[int, list[Finding]] = defaultdict(list)
    for app, _ in corrected:
        if app.message in strangers:
            round_found[app.id].append(strangers[app.message])
    quota_findings, placed = _quotas(taking_part, config)
    for app_id, finding in quota_findings:
        round_found[app_id].append(finding)
    for app_id, finding in _multiple_recommenders(taking_part):
        round_found[app_id].append(finding)
    resolved = _forms_present([a for a, _ in corrected])
    letters = _letters(live_messages)

    verdicts = []
    for app, fixes in corrected:
        base = _still_valid(app, fixes, resolved, letters, config, form_fields)
        if app.message in confirmed:   # the clerk vouched for the sender: the receiving server's doubt is answered
            base = [f for f in base if f.flag is not Flag.UNVERIFIED_SENDER]
        if app.id in superseded:
            base.append(_superseded_finding(app, superseded[app.id]))
        findings = tuple(dict.fromkeys(base + round_found.get(app.id, [])))
        computed = status_for(findings, config)
        targets = by_target.get(Target.application(app.id), {})
        decision = _decision(targets.get(Entry.STATUS), findings, config)
        if decision is None:
            status = computed
        elif not decision.stale:
            status = Status(decision.status)
        else:
            # What the clerk saw stays answered (a late one accepted stays accepted as to lateness);
            # the flags that came since decide until the clerk looks again.
            status = status_for([f for f in findings if f.flag not in decision.flags], config)
        verdicts.append(Verdict(
            id=app.id, message=app.message, received_at=app.received_at, recommender=app.recommender,
            recommender_kind=app.recommender_kind, applicant=app.applicant, track=app.track, fields=app.fields,
            findings=findings, status=status, computed_status=computed,
            superseded_by=superseded[app.id].id if app.id in superseded else None,
            corrected=fixes, decision=decision, notes=_notes(targets.get(Entry.NOTE)), paper=_paper(targets.get(Entry.PAPER)),
            quota_place=app.id in placed,
        ))

    message_verdicts = {}
    for m in ordered:
        targets = by_target.get(Target.message(m.id), {})
        handled = targets.get(Entry.STATUS)
        decision = Decision(HANDLED, handled[-1].by, handled[-1].at, frozenset()) if handled else None
        message_verdicts[m.id] = MessageVerdict(m.id, duplicates.get(m.id), decision, _notes(targets.get(Entry.NOTE)),
                                                m.recommender)

    missing = tuple(_with_round_decision(mf, by_target.get(mf.target, {}), overdue)
                    for mf in _missing_forms(live_messages, [a for a, _ in corrected]))
    current = [v for v in verdicts if v.current]
    reconfirm = _list_state(config.reconfirm_list, Track.RECONFIRM, Kind.RECONFIRM, current, by_target, overdue, config)
    audit = _list_state(config.audit_list, Track.AUDIT, Kind.AUDIT, current, by_target, overdue, config)
    known = ({Target.application(a.id) for a in applications} | {Target.message(m.id) for m in messages}
             | {e.target for e in reconfirm + audit}
             | {Target.form(m.id, k) for m in messages for k in range(1, len(m.named) + 1)})
    return Assessment(
        verdicts=tuple(verdicts),
        messages=message_verdicts,
        missing_forms=missing,
        reconfirm=reconfirm,
        audit=audit,
        overdue=overdue,
        contacts=_contacts(live_messages),
        unknown_targets=tuple(c for cs in by_target.values() for fs in cs.values() for c in fs
                              if c.target not in known),
        filled_on=_filled_on(live_messages),
    )


def _duplicates(ordered: Sequence[MessageFacts]) -> dict[int, int]:
    """Same raw bytes, or same Message-ID: the mail client sent it twice, or the server delivered it
    twice. The first one processed is the original, the others produce nothing. Processing order,
    not delivery time: the first one's receipt may already be out (and identical bytes share one
    receipt identity), so the original must never change once chosen."""
    first_by: dict[tuple[str, str], int] = {}
    out: dict[int, int] = {}
    for m in ordered:
        # A message the mailbox would not hand over has no bytes to compare.
        keys = ([("sha", m.sha256)] if m.sha256 else []) + (
            [("mid", m.message_id.strip().lower())] if m.message_id.strip() else [])
        original = next((first_by[k] for k in keys if k in first_by), None)
        if original is not None:
            out[m.id] = original
            continue
        for k in keys:
            first_by[k] = m.id
    return out


def _by_target(corrections: Iterable[Correction]) -> dict[Target, dict[str, list[Correction]]]:
    out: dict[Target, dict[str, list[Correction]]] = defaultdict(lambda: defaultdict(list))
    for c in corrections:
        out[c.target][c.field].append(c)
    return out


def _corrected(app: AppFacts, targets: Mapping[str, list[Correction]], form_fields: FieldNames
               ) -> tuple[AppFacts, dict[str, Correction]]:
    """The application with the clerk's latest value for every corrected field."""
    fixes = {name: cs[-1] for name, cs in targets.items() if name in form_fields.keys}
    if not fixes:
        return app, {}
    fields = dict(app.fields)
    applicant, track = app.applicant, app.track
    for name, c in fixes.items():
        if name in ("applicant", "unit_name"):
            applicant = str(c.value)
            fields["unit_name"] = applicant
        elif name == "track":
            track = Track(str(c.value))
            fields["track"] = track.value
        else:
            fields[name] = c.value
    return replace(app, applicant=applicant, track=track, fields=fields), fixes


def _unverified(messages: Sequence[MessageFacts], confirmed: set[int], remembered: Mapping[str, str],
                config: Config) -> dict[int, Finding]:
    """Emails filed under a registered recommender (by the subject or the 推荐函 naming it) whose sender is
    none of its addresses, nor one a clerk confirmed: message id → the finding."""
    directory = Directory(config.recommenders, remembered)
    out = {}
    for m in messages:
        if m.recommender_kind not in _REGISTERED_KINDS or m.id in confirmed:
            continue
        speaks = directory.by_sender(m.sender)
        if speaks is not None and speaks.name == m.recommender:
            continue
        out[m.id] = Finding(Flag.UNVERIFIED_SENDER,
                            f"发件地址 {m.sender or '（无）'} 不是{m.recommender}登记的发件地址，邮件暂归该单位；"
                            f"经人工确认（intake review set M{m.id} --sender-ok）前不占推荐名额，也不替换该单位已报送的申请")
    return out


def _resubmissions(apps: Sequence[AppFacts], targets, config: Config,
                   doubtful: set[int] = frozenset()) -> dict[int, AppFacts]:  # type: ignore[assignment]
    """Per filer and unit the latest application stands; the others are superseded (old id → the
    one that stands).

    A 重新确认 or 审验 is the unit's own procedure (通知三（三）、三（四）: the base may send it itself,
    and its city may forward it too): it is one application whoever sent it, so those of one track
    meet across filers, and the later one replaces the earlier, never a 多头申报 case. A clerk
    would rather see one base once, with the history kept, than two review items for one form.

    A late email does not replace one that came in time: 逾期不再受理, so it could only lose the
    applicant a valid application; once the clerk has accepted it, it counts like a timely one.
    An entry with no 申请表 (a 推荐函 that lists the unit) never replaces one with a form, whichever
    came first.

    An application from a sender nobody vouched for (doubtful) never replaces one from the recommender's
    own address, however late it came (a forged resubmission): the two chains stand side by side."""
    out: dict[int, AppFacts] = {}
    scopes = (lambda a: a.recommender, lambda a: None if a.track.in_quota else a.track.value)
    for group, _ in _same_units(apps, scopes):
        late = [a for a in group if _late(a, config) and _clerk_status(a, targets) != Status.ACCEPTED.value]
        timely = [a for a in group if all(a.id != x.id for x in late)]
        # A late one stays as its own row, rejected, beside the timely one.
        chains = [[a for a in chain if (a.id in doubtful) is doubt] for chain in (timely, late) for doubt in (False, True)]
        for chain in chains:
            if not chain:
                continue
            head = ([a for a in chain if a.has_form] or chain)[-1]
            for old in chain:
                if old is not head:
                    out[old.id] = head
    return out


def _superseded_finding(old: AppFacts, head: AppFacts) -> Finding:
    detail = f"以{moment_text(head.received_at)}送达的邮件中的申请（编号A{head.id}）为准"
    if head.recommender != old.recommender:
        detail += (f"，该申请由{head.recommender}报送；{head.track.label}不占推荐名额，"
                   "同一单位无论由谁报送只保留一份")
    return Finding(Flag.SUPERSEDED, detail + "，本条不再计入汇总表和推荐名额")


def _late(app: AppFacts, config: Config) -> bool:
    return app.received_at > config.round.deadline


def _clerk_status(app: AppFacts, targets: Mapping[Target, Mapping[str, list[Correction]]]) -> str | None:
    status = targets.get(Target.application(app.id), {}).get(Entry.STATUS)
    return _status_value(status[-1]) if status else None


def _takes_part(app: AppFacts, targets: Mapping[Target, Mapping[str, list[Correction]]], config: Config) -> bool:
    """Whether an application competes for its recommender's places and meets the others in the
    多头申报 check. The clerk's decision comes first: accepted, it counts like any timely application
    even when it came late (a mail system's delay the clerk has checked); rejected, it never counts.
    Without a decision, a rejecting flag (late) keeps it out."""
    decided = _clerk_status(app, targets)
    if decided == Status.REJECTED.value:
        return False
    if decided == Status.ACCEPTED.value:
        return True
    return not ({f.flag for f in app.findings} & config.rejected_flags)


def _quotas(apps: Sequence[AppFacts], config: Config) -> tuple[list[tuple[int, Finding]], set[int]]:
    """通知三（一）: in order of delivery, the first ones within the limits take a place; the later ones
    exceed. An exceeding application takes no place, so a later one in another track may still fit.
    Returns the findings and the applications that hold a place."""
    by_recommender: dict[str, list[AppFacts]] = defaultdict(list)
    for app in apps:
        if app.track.in_quota:
            by_recommender[app.recommender].append(app)
    found: list[tuple[int, Finding]] = []
    placed: set[int] = set()
    for recommender, mine in by_recommender.items():
        try:
            quota = config.quotas.get(RecommenderKind(mine[0].recommender_kind))
        except ValueError:
            quota = None
        if quota is None:
            continue
        per_track_total: defaultdict[Track, int] = defaultdict(int)
        for app in mine:
            per_track_total[app.track] += 1
        used, used_track = 0, defaultdict[Track, int](int)
        for app in mine:
            limit = quota.per_track.get(app.track)
            if limit is not None and used_track[app.track] >= limit:
                found.append((app.id, Finding(Flag.QUOTA_EXCEEDED,
                                              f"{recommender}已推荐{per_track_total[app.track]}个{app.track.label}"
                                              f"（限{limit}个），按送达先后本单位列第{used_track[app.track] + 1}个")))
                used_track[app.track] += 1
                continue
            if used >= quota.total:
                found.append((app.id, Finding(Flag.QUOTA_EXCEEDED,
                                              f"{recommender}已推荐{len(mine)}个备选单位（限{quota.total}个），"
                                              f"按送达先后本单位列第{used + 1}个")))
                used += 1
                continue
            used += 1
            used_track[app.track] += 1
            placed.add(app.id)
    return found, placed


def _credit_key(app: AppFacts) -> str:
    code = str(app.fields.get("credit_code") or "").strip().upper()
    return code if credit_code_valid(code) else ""


def _same_units(apps: Sequence[AppFacts], scopes: Sequence[Callable[[AppFacts], str | None]] = (lambda a: "",)
                ) -> list[tuple[list[AppFacts], set[str]]]:
    """The applications grouped by unit: the same names.key or the same valid 统一社会信用代码 (one
    form read with the code, another without, still meet by name), within a scope (two meet when
    some scope gives both the same value; None: not in that scope). Each group keeps its order and
    says what joined it."""
    parent = {a.id: a.id for a in apps}

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    basis: dict[int, set[str]] = defaultdict(set)
    for scope in scopes:
        for key_of, label in ((lambda a: key(a.applicant), "单位名称相同"), (_credit_key, "统一社会信用代码相同")):
            first: dict[tuple[str, str], int] = {}
            for a in apps:
                where, k = scope(a), key_of(a)
                if where is None or not k:
                    continue
                if (where, k) in first:
                    other = first[(where, k)]
                    parent[root(a.id)] = root(other)
                    basis[a.id].add(label)
                    basis[other].add(label)
                else:
                    first[(where, k)] = a.id
    groups: dict[int, list[AppFacts]] = defaultdict(list)
    for a in apps:
        groups[root(a.id)].append(a)
    return [(g, {b for a in g for b in basis[a.id]}) for g in groups.values()]


def _multiple_recommenders(live: Sequence[AppFacts]) -> Iterable[tuple[int, Finding]]:
    """同一单位不得多头申报: the same unit, by name or by 统一社会信用代码, through two or more recommenders."""
    for group, basis in _same_units(live):
        recommenders = list(dict.fromkeys(a.recommender for a in group))
        if len(recommenders) < 2:
            continue
        why = "、".join(sorted(basis, reverse=True))
        for a in group:
            others = [r for r in recommenders if r != a.recommender]
            yield a.id, Finding(Flag.DUPLICATE_APPLICANT,
                                f"该单位经{len(recommenders)}个推荐单位申报（{'、'.join(recommenders)}；{why}），"
                                f"除本推荐单位外还有{'、'.join(others)}")


def _forms_present(apps: Sequence[AppFacts]) -> dict[str, list[str]]:
    """Per recommender, the applicants whose 申请表 came in any of its emails."""
    out: dict[str, list[str]] = defaultdict(list)
    for a in apps:
        if a.has_form:
            out[a.recommender].append(a.applicant)
    return out


def _missing_forms(messages: Sequence[MessageFacts], apps: Sequence[AppFacts]) -> tuple[MissingForm, ...]:
    """Named by a 推荐函/汇总表 and in no application of the recommender at all (an application with
    no form, as the reading of the email may make one, already stands for it in every list)."""
    present: dict[str, list[str]] = defaultdict(list)
    for a in apps:
        present[a.recommender].append(a.applicant)
    out, seen = [], set()
    for m in messages:
        for index, named in enumerate(m.named, start=1):
            seen_key = (m.recommender, key(named.name))
            if seen_key in seen or on_list(named.name, present.get(m.recommender, [])):
                continue
            seen.add(seen_key)
            out.append(MissingForm(m.recommender, named.name, named.track, named.source, m.id, index))
    return tuple(out)


_QUOTED = re.compile(r"“([^”]+)”")


def _letters(messages: Sequence[MessageFacts]) -> dict[str, list[tuple[Named, ...]]]:
    """Per recommender, the 推荐函 it sent, each as the applicants it names (empty: not read)."""
    out: dict[str, list[tuple[Named, ...]]] = defaultdict(list)
    for m in messages:
        if m.has_letter:
            out[m.recommender].append(tuple(n for n in m.named if n.source == "推荐函"))
    return out


def _letter_covers(app: AppFacts, letters: Mapping[str, list[tuple[Named, ...]]]) -> bool:
    """A 推荐函 in another email of the same recommender that recommends this applicant (or whose
    list could not be read): a form sent later, or sent again, needs no second letter."""
    return any(not named or on_list(app.applicant, [n.name for n in named])
               for named in letters.get(app.recommender, []))


def _still_valid(app: AppFacts, fixes: Mapping[str, Correction], present: Mapping[str, list[str]],
                 letters: Mapping[str, list[tuple[Named, ...]]], config: Config, fields: FieldNames) -> list[Finding]:
    """The message's own findings, less those the round or the clerk has since answered."""
    out = []
    for f in app.findings:
        if f.flag is Flag.MISSING_RECOMMENDATION_LETTER and _letter_covers(app, letters):
            continue
        if f.flag is Flag.MISSING_APPLICATION_FORM:
            names = _QUOTED.findall(f.detail)
            if names and all(on_list(n, present.get(app.recommender, [])) for n in names):
                continue            # the form came, in this email or another of the same recommender
        if f.flag in FIELD_FLAGS and fixes:
            continue                # recomputed below from the corrected values
        if f.flag is Flag.LOW_CONFIDENCE and fixes and _answered(f.detail, fixes, fields):
            continue
        out.append(f)
    if fixes:
        out += field_findings(app.applicant, app.track, app.fields, config)
    return out


def _answered(detail: str, fixes: Mapping[str, Correction], fields: FieldNames) -> bool:
    """A low-confidence finding names the fields in doubt; once the clerk has set each of them, it is answered."""
    named = fields.named_in(detail)
    if "unit_name" in named and "applicant" in fixes:
        fixes = {**fixes, "unit_name": fixes["applicant"]}
    return bool(named) and named <= set(fixes)


def _status_value(c: Correction) -> str:
    return c.value["status"] if isinstance(c.value, dict) else str(c.value)


def _decision(status: list[Correction] | None, findings: Sequence[Finding], config: Config) -> Decision | None:
    if not status:
        return None
    c = status[-1]
    seen = frozenset(Flag(f) for f in (c.value.get("flags", []) if isinstance(c.value, dict) else []))
    blocking = {f.flag for f in findings} & (config.review_flags | config.rejected_flags)
    return Decision(_status_value(c), c.by, c.at, seen, stale=not blocking <= seen)


def _notes(cs: list[Correction] | None) -> tuple[Note, ...]:
    return tuple(Note(str(c.value), c.by, c.at) for c in cs or ())


def _paper(cs: list[Correction] | None) -> Paper | None:
    if not cs or not isinstance(cs[-1].value, dict) or not cs[-1].value.get("copies"):
        return None
    v = cs[-1].value
    return Paper(int(v["copies"]), str(v.get("on", "")), cs[-1].by, cs[-1].at)


def _list_state(names: Sequence[str], track: Track, kind: Kind, current: Sequence[Verdict],
                targets: Mapping[Target, Mapping[str, list[Correction]]], overdue: bool,
                config: Config) -> tuple[ListEntry, ...]:
    out = []
    for number, name in enumerate(names, start=1):
        mine = [v for v in current if v.track is track and same_unit(v.applicant, name)]
        # A late one the clerk accepted (人工核定) has applied as much as a timely one.
        timely = [v for v in mine if v.received_at <= config.round.deadline or _accepted(v)]
        if timely:
            entry = ListEntry(name, "applied", timely[-1].id)
        elif mine:
            entry = ListEntry(name, "late", mine[-1].id)
        else:
            entry = ListEntry(name, "missing")
        target = Target(kind, number)
        out.append(_with_round_decision(replace(entry, target=target), targets.get(target, {}), overdue))
    return tuple(out)


def _accepted(v: Verdict) -> bool:
    return v.decision is not None and not v.decision.stale and v.decision.status == Status.ACCEPTED.value


def round_item_state(item: MissingForm | ListEntry, overdue: bool) -> str:
    """What a clerk's 已处理 on a round-level item answered: its state and whether the deadline had
    passed. When either changes (a reminder before the deadline, then still nothing after it), the
    item is back on the list."""
    state = item.state if isinstance(item, ListEntry) else "missing"
    return f"{state}/{'overdue' if overdue else 'open'}"


def _with_round_decision(item, targets: Mapping[str, list[Correction]], overdue: bool):
    status = targets.get(Entry.STATUS)
    decision = None
    if status:
        c = status[-1]
        seen = c.value.get("seen") if isinstance(c.value, dict) else None
        decision = Decision(HANDLED, c.by, c.at, frozenset(),
                            stale=seen is not None and seen != round_item_state(item, overdue))
    return replace(item, decision=decision, notes=_notes(targets.get(Entry.NOTE)))


_DATE = re.compile(r"(\d{4})\s*[年./-]\s*(\d{1,2})\s*[月./-]\s*(\d{1,2})\s*日?")


def _date_text(text: str) -> str:
    """A date as the official form writes it (2019年9月10日), whichever way it was typed."""
    m = _DATE.search(text)
    return f"{m.group(1)}年{int(m.group(2))}月{int(m.group(3))}日" if m else text.strip()


def _filled_on(messages: Sequence[MessageFacts]) -> dict[str, str]:
    """附件2's 填报日期 per recommender: the date its latest 汇总表 (or 推荐函) gives where it was read,
    else the day its latest email came (Asia/Shanghai) — never the day the table is rebuilt."""
    delivered: dict[str, str] = {}
    written: dict[str, str] = {}
    for m in messages:                       # in order of delivery: the latest wins
        if m.outcome != "submission":
            continue
        delivered[m.recommender] = day_text(m.received_at)
        if m.filled_on.strip():
            written[m.recommender] = _date_text(m.filled_on)
    return {**delivered, **written}


def _contacts(messages: Sequence[MessageFacts]) -> dict[str, tuple[str, str]]:
    """The latest 填表人 and 联系电话 each recommender wrote in a 推荐函 or 汇总表."""
    out: dict[str, tuple[str, str]] = {}
    for m in messages:
        if m.filler or m.phone:
            old = out.get(m.recommender, ("", ""))
            out[m.recommender] = (m.filler or old[0], m.phone or old[1])
    return out


def missing_form_finding(m: MissingForm, overdue: bool) -> Finding:
    tail = "截止时间已过仍未收到" if overdue else "请推荐单位补发"
    return Finding(Flag.MISSING_APPLICATION_FORM,
                   f"{m.source}中列明“{m.name}”，但{m.recommender}的邮件中均未见其申请表，{tail}")
