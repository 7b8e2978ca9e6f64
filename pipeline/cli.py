"""The `intake` command: a thin layer over the library. Every command's help carries an example."""
from __future__ import annotations

import getpass
import json
import logging
import os
import secrets
import shutil
import sys
from datetime import datetime
from pathlib import Path
from typing import NoReturn

import click

from . import caches, faults, logs
from . import config as config_mod
from .dates import SHANGHAI, BadDay, parse_day
from .demo import install
from .filing import inside, write_atomic
from .flow import run_pass
from .lock import Busy
from .mail import imap, smtp
from .mail.imap import ImapError
from .mail.source import MailboxMissing
from .outputs import report as report_mod
from .outputs.export import export as export_round
from .outputs.report import missing_templates
from .read.document import Forms
from .read.forms import FormDefinitionError, field_names
from .round import facts
from .round import review as review_mod
from .round.apply import reassess
from .round.target import BadTarget, Entry, Kind, Target
from .schedule import serve
from .store import Ledger
from .web import accounts
from .web.serve import serve as serve_console

log = logging.getLogger("intake")
DEMO_USER = "demo"


def say(text: str = "", err: bool = False) -> None:
    """click.echo for text that may hold a sender's words: what a terminal would act on is removed."""
    click.echo(logs.UNSEEN.sub("", str(text)), err=err)


def _setup_logging(verbose: bool, default: int = logging.WARNING) -> None:
    logs.setup(default, verbose)


def _load(ctx: click.Context) -> config_mod.Config:
    try:
        cfg = config_mod.load(ctx.obj["config"])
    except config_mod.ConfigError as exc:
        say(str(exc), err=True)
        ctx.exit(2)
    ctx.obj["cfg"] = cfg
    return cfg


def _fail(ctx: click.Context, message: str, status: int = 2) -> NoReturn:
    say(message, err=True)
    ctx.exit(status)


def _ledger_exists(ctx: click.Context, cfg: config_mod.Config) -> None:
    """Commands that read the round need a ledger: its absence is one line, not an empty answer."""
    if not cfg.output_dir.is_dir():
        _fail(ctx, f"输出目录不存在 / the output folder does not exist: {cfg.output_dir}", 1)
    if not cfg.ledger_path.is_file():
        _fail(ctx, f"尚无台账，请先运行 intake poll --once / no ledger yet at {cfg.ledger_path}", 1)


class _Intake(click.Group):
    """The command group: a storage fault (full, read-only or missing output folder, a ledger that cannot
    be written) ends any command with one line in Chinese and English and exit status 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except Busy as exc:
            say(str(exc), err=True)
            ctx.exit(1)
        except Exception as exc:
            if not faults.is_storage_fault(exc):
                raise
            cfg = (ctx.obj or {}).get("cfg")
            where = f" {cfg.output_dir}" if cfg is not None else ""
            say(f"无法读写输出目录{where}（{faults.storage_text(exc, _free(cfg))}）/ cannot use the output "
                       f"folder{where}: {faults.describe(exc)}", err=True)
            ctx.exit(1)


def _free(cfg: config_mod.Config | None) -> int | None:
    try:
        return shutil.disk_usage(cfg.output_dir).free if cfg is not None else None
    except OSError:
        return None


@click.group(cls=_Intake, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="inbox_rules.yaml to use (default: $INTAKE_CONFIG, else ./inbox_rules.yaml).")
@click.option("-v", "--verbose", is_flag=True, help="Log every stage of every message to stderr.")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, verbose: bool) -> None:
    """intake: 继续教育基地申报邮件的收取、识别、汇总与回执。

    Example: intake poll --once
    """
    ctx.obj = {"config": config_path, "verbose": verbose}


@main.command()
@click.option("--once/--loop", default=True, help="One pass and exit (default), or keep polling like `run`.")
@click.option("--no-wait", is_flag=True, help="If another pass is running, say which and exit 1 instead of waiting.")
@click.pass_context
def poll(ctx: click.Context, once: bool, no_wait: bool) -> None:
    """Fetch new mail, process it, file it, rebuild the tables, send the receipts.

    Only one pass runs at a time (a lock under output_dir): a second one waits for the first.

    Example: intake poll --once
    """
    cfg = _load(ctx)
    _setup_logging(ctx.obj["verbose"])
    if not once:
        ctx.invoke(run)
        return
    while _one_pass(ctx, cfg, wait=not no_wait).more:
        say("本次处理已达时限（processing.pass_budget），继续处理其余邮件…")


def _waiting(holder) -> None:
    who = f"PID {holder.pid}（{holder.command}，始于 {holder.since}）" if holder else "另一进程"
    say(f"另一个处理进程正在运行：{who}，等待其结束… / waiting for the pass already running", err=True)


def _one_pass(ctx: click.Context, cfg: config_mod.Config, rerun: tuple[int, ...] = (), wait: bool = True):
    try:
        if sys.stderr.isatty():
            with click.progressbar(length=1, label="处理邮件", file=sys.stderr, show_pos=True) as bar:
                def advance(done: int, total: int) -> None:
                    bar.length = max(total, done)   # known once the mailbox has listed what is new
                    bar.update(done - bar.pos)

                result = run_pass(cfg, progress=advance, rerun=rerun, wait=wait, on_wait=_waiting)
        else:
            result = run_pass(cfg, rerun=rerun, wait=wait, on_wait=_waiting)
    except (ImapError, MailboxMissing) as exc:
        say(f"无法读取邮箱 / cannot read the mailbox: {exc}", err=True)
        ctx.exit(1)
    duplicates = f"（其中重复邮件 {result.duplicates} 封）" if result.duplicates else ""
    retried = f"重新处理 {result.retried} 封，" if result.retried else ""
    say(f"本次处理：收取邮件 {result.fetched} 封，{retried}申报 {result.submissions} 封，"
               f"忽略 {result.ignored} 封{duplicates}，无法自动处理 {result.review} 封，"
               f"发送回执 {result.receipts_sent} 封。")
    if result.deferred:
        say(f"暂时性故障（如磁盘已满、目录只读），{result.deferred} 封邮件稍后自动重试。")
    if result.receipts_waiting:
        say(f"另有 {result.receipts_waiting} 封回执待发送（发信服务器暂不可用时自动重试，见 intake review）。")
    if result.review_items:
        say(f"需要核对（{len(result.review_items)} 项，详见 intake review）：")
        for item in result.review_items:
            say(f"  - {item}")
    say(f"输出目录：{cfg.output_dir / cfg.round.name}")
    return result


@main.command()
@click.pass_context
def run(ctx: click.Context) -> None:
    """The service: a pass every schedule.poll_every until SIGTERM or Ctrl-C.

    Example: intake --config /etc/intake/inbox_rules.yaml run
    """
    cfg = _load(ctx)
    _setup_logging(ctx.obj["verbose"], default=logging.INFO)
    serve(cfg)


@main.command()
@click.argument("targets", nargs=-1)
@click.option("--failed", is_flag=True, help="Every message set aside after an error or waiting for a retry.")
@click.pass_context
def retry(ctx: click.Context, targets: tuple[str, ...], failed: bool) -> None:
    """Process kept messages again from their raw bytes, through the whole way.

    For a message that failed (a full disk, a program error since fixed) or that a clerk wants read
    again. The clerk's decisions about its applications stay; a receipt already sent is not sent again.
    A message whose raw bytes were never kept is fetched from the mailbox by the next pass.

    Example: intake retry M19 M20
    """
    cfg = _load(ctx)
    _setup_logging(ctx.obj["verbose"])
    if not targets and not failed:
        _fail(ctx, "请给出邮件编号（如 M19），或用 --failed 重新处理全部出错的邮件")
    _ledger_exists(ctx, cfg)
    rows: list[int] = []
    with Ledger(cfg.ledger_path) as ledger:
        wanted = ledger.failed(cfg.round.name) if failed else []
        for t in targets:
            m = facts.mail(ledger, number) if (number := _message_number(t)) is not None else None
            if m is None or m.round != cfg.round.name:
                _fail(ctx, f"本轮次（{cfg.round.name}）没有编号为 {t} 的邮件；编号见 intake review 的列表")
            wanted.append(m.id)
        for row in dict.fromkeys(wanted):
            kept = facts.mail(ledger, row)
            if kept is not None and kept.raw_path:
                rows.append(row)
            else:
                ledger.refetch(row)
                say(f"{Target.message(row)}：原始邮件未曾保存，下次收信时将重新从邮箱读取")
    if not rows:
        say("没有可重新处理的邮件")
        return
    say(f"重新处理：{'、'.join(f'M{r}' for r in rows)}")
    _one_pass(ctx, cfg, rerun=tuple(rows))


@main.command()
@click.pass_context
def report(ctx: click.Context) -> None:
    """Rebuild every 汇总表 and 受理回执 from the ledger, without touching the mailbox.

    Example: intake report
    """
    cfg = _load(ctx)
    _setup_logging(ctx.obj["verbose"])
    missing = report_mod.missing_templates(cfg.templates_dir)
    if missing:
        _fail(ctx, f"缺少模板 / missing template: {'、'.join(map(str, missing))}", 1)
    _ledger_exists(ctx, cfg)

    with Ledger(cfg.ledger_path) as ledger:
        written = report_mod.rebuild(cfg, ledger)
        say(report_mod.summary_text(cfg, ledger))
    say(f"\n已生成 {len(written)} 个文件，位于 {cfg.output_dir / cfg.round.name}（统计图表见 统计.xlsx）")


@main.command()
# JSON is the one format of the contract; the option is there because scripts written to it pass it.
@click.option("--format", type=click.Choice(["json"]), default="json", show_default=True, expose_value=False)
@click.option("--round", "round_name", default=None, help="Round name (default: the configured round).")
@click.pass_context
def export(ctx: click.Context, round_name: str | None) -> None:
    """Print the round's messages and applications as one JSON object.

    Example: intake export --format json > round.json
    """
    cfg = _load(ctx)
    _setup_logging(ctx.obj["verbose"])
    _ledger_exists(ctx, cfg)
    with Ledger(cfg.ledger_path) as ledger:
        known = ledger.rounds()
        if round_name and round_name != cfg.round.name and round_name not in known:
            # An empty answer would read as "nothing came in"; a wrong name is a mistake to say.
            _fail(ctx, f"台账中没有轮次“{round_name}” / no such round; 已有轮次 / rounds: {'、'.join(known) or '（无）'}", 1)
        data = export_round(ledger, round_name or cfg.round.name)
    text = json.dumps(data, ensure_ascii=False, indent=2)
    # JSON escapes C0 controls itself; on a terminal, the C1 ones and bidi marks are escaped too.
    click.echo(logs.UNSEEN.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text) if sys.stdout.isatty() else text)


@main.command()
@click.pass_context
def demo(ctx: click.Context) -> None:
    """Write a sample mailbox of realistic submissions, run one pass, say where the outputs are.

    Example: intake demo
    """
    cfg = _load(ctx)
    _setup_logging(ctx.obj["verbose"])
    try:
        path, added = install(cfg)
    except ValueError as exc:
        _fail(ctx, str(exc))
    say(f"示例邮箱：{path}（新放入 {added} 封示例邮件）")
    _one_pass(ctx, cfg)
    out = cfg.output_dir / cfg.round.name
    say(f"全省汇总表：{out / '附件2_申报汇总表_全省.xlsx'}")
    say(f"回执邮件：{cfg.outbox.display()}")
    say("查看全部结果：intake export --format json")
    say("")
    with Ledger(cfg.ledger_path) as ledger:
        password = None if ledger.user(DEMO_USER) else secrets.token_urlsafe(12)
        if password:
            accounts.add(ledger, DEMO_USER, accounts.Role.CLERK.value, password)
    say(f"网页控制台：运行 .venv/bin/intake web，在浏览器中打开 http://{cfg.web.host}:{cfg.web.port}{cfg.web.prefix}/")
    if password:
        say(f"  演示账号 {DEMO_USER}，密码 {password}（只显示这一次；改密码：intake user passwd {DEMO_USER}）")
    else:
        say(f"  演示账号 {DEMO_USER} 已于此前开设（忘记密码：intake user passwd {DEMO_USER}）")


@main.command()
@click.pass_context
def check(ctx: click.Context) -> None:
    """Validate the configuration and try the mailbox and the outbox.

    Example: intake check
    """
    cfg = _load(ctx)
    problems = []
    try:
        Forms.load(cfg.templates_dir)
    except FormDefinitionError as exc:
        problems.append(f"表单定义有误 / form definitions: {exc}")
    problems += [f"缺少模板 / missing template: {path}" for path in missing_templates(cfg.templates_dir)]
    problems += _check_output(cfg)
    problems += _check_mail(cfg)
    say(f"配置文件 / configuration: {cfg.source} — 格式正确 / valid")
    if problems:
        for p in problems:
            say(f"✗ {p}", err=True)
        ctx.exit(1)
    say(f"✓ 邮箱 / mailbox {cfg.mailbox.display()}；发件箱 / outbox {cfg.outbox.display()}；"
               f"输出 / output {cfg.output_dir}")


# Below this, a pass may fail for want of space (OCR pages, LibreOffice copies, raw messages).
LOW_SPACE = 200 * 1024 * 1024


def _check_output(cfg: config_mod.Config) -> list[str]:
    """The output folder and the ledger proven writable by writing and removing, and room left on the disk."""

    out = cfg.output_dir
    if not out.is_dir():
        if out.parent.is_dir() and os.access(out.parent, os.W_OK):
            say(f"✓ 输出目录 / output {out}：尚不存在，首次运行时创建 / created on the first pass")
            return []
        return [f"输出目录 / output {out}：不存在且无法创建 / missing, and its parent is not writable"]
    try:
        probe = write_atomic(out / f".intake-check-{os.getpid()}", b"check")
        probe.unlink()
        if cfg.ledger_path.exists():
            with Ledger(cfg.ledger_path) as ledger:
                ledger.prove_writable()
    except Exception as exc:
        if not faults.is_storage_fault(exc):
            raise
        return [f"输出目录 / output {out}：无法写入（{faults.storage_text(exc)}）/ not writable: {faults.describe(exc)}"]
    free = shutil.disk_usage(out).free
    if free < LOW_SPACE:
        return [f"输出目录 / output {out}：磁盘剩余 {free // 1024 // 1024} MB，空间不足 / almost full"]
    say(f"✓ 输出目录 / output {out}：可写，台账可写，剩余 {free // 1024 // 1024} MB / writable；"
        f"提速缓存 {caches.size(out) // 1024 // 1024} MB，上限 {cfg.cache_size // 1024 // 1024} MB（outputs.cache_size）")
    return []


# What each failing step means, for the engineer who runs `intake check` on the office's server.
_STEP_HINTS = {
    "DNS": "域名无法解析 / the host name does not resolve",
    "connect": "无法连接服务器或端口 / cannot reach the host and port",
    "TLS": "TLS 握手或证书校验失败（内网 CA 可用 ?ca=PATH）/ TLS or certificate check failed (?ca=PATH for an intranet CA)",
    "STARTTLS": "STARTTLS 失败 / STARTTLS failed",
    "login": "用户名或密码错误（密码取自环境变量）/ login refused (the password comes from the environment)",
    "SELECT": "文件夹不存在或无权访问 / the folder does not exist or is not accessible",
}


def _hint(message: str) -> str:
    step = message.split(":", 1)[0].split(" ", 1)[0]
    return f"{_STEP_HINTS[step]} — {message}" if step in _STEP_HINTS else message


def _check_mail(cfg: config_mod.Config) -> list[str]:
    problems = []
    if cfg.mailbox.scheme == "maildir":
        if not (cfg.mailbox.maildir / "new").is_dir():
            problems.append(f"邮箱 / mailbox: 找不到 Maildir / no Maildir at {cfg.mailbox.maildir} (new/ missing)")
    else:
        if not cfg.mailbox_password:
            problems.append("邮箱 / mailbox: 未设置 INTAKE_MAILBOX_PASSWORD / INTAKE_MAILBOX_PASSWORD is not set")
        try:
            say(f"✓ 邮箱 / mailbox {cfg.mailbox.display()}: {imap.probe(cfg.mailbox, cfg.mailbox_password, cfg.imap)}")
        except imap.ImapError as exc:
            problems.append(f"邮箱 / mailbox {cfg.mailbox.display()}: {_hint(str(exc))}")
    if cfg.outbox.scheme != "maildir":
        if cfg.outbox.user and not cfg.outbox_password:
            problems.append("发件箱 / outbox: 未设置 INTAKE_OUTBOX_PASSWORD / INTAKE_OUTBOX_PASSWORD is not set")
        try:
            say(f"✓ 发件箱 / outbox {cfg.outbox.display()}: {smtp.probe(cfg.outbox, cfg.outbox_password, cfg.imap.timeout)}")
        except smtp.SendFailed as exc:
            problems.append(f"发件箱 / outbox {cfg.outbox.display()}: {_hint(str(exc))}")
    return problems


# ---------------------------------------------------------------- the clerk's review list

def _message_number(text: str) -> int | None:
    """A message's number as `intake retry` takes it: M19, or just 19."""
    text = text.strip()
    try:
        target = Target.parse("M" + text if text.isdigit() else text)
    except BadTarget:
        return None
    return target.number if target.kind is Kind.MESSAGE else None


def _clerk() -> str:
    try:
        return os.environ.get("USER") or getpass.getuser()
    except (KeyError, OSError):       # no passwd entry in a bare container
        return "unknown"


@main.group(invoke_without_command=True)
@click.option("--no-file", is_flag=True, help="Only print the list; do not write 待处理.xlsx.")
@click.pass_context
def review(ctx: click.Context, no_file: bool) -> None:
    """The clerk's list: every message and application needing attention, why, and what to do.

    Prints the list and writes output/<round>/待处理.xlsx (fill in its yellow columns, then
    `intake review import`).

    Example: intake review
    """
    if ctx.invoked_subcommand is not None:
        return
    cfg = _load(ctx)
    _setup_logging(ctx.obj["verbose"])
    _ledger_exists(ctx, cfg)
    with Ledger(cfg.ledger_path) as ledger:
        result = reassess(cfg, ledger)
        listing = review_mod.build(result, facts.mails(ledger, cfg.round.name), cfg, datetime.now(SHANGHAI),
                                   facts.waiting(ledger, cfg.round.name))
    say(review_mod.text(listing))
    if not no_file:
        path = write_atomic(inside(cfg.output_dir, cfg.round.name, "待处理.xlsx"), review_mod.review_xlsx(listing))
        say(f"\n已写入 {path}")


def _record(ctx: click.Context, cfg, changes, by: str, source: str) -> None:
    _ledger_exists(ctx, cfg)
    with Ledger(cfg.ledger_path) as ledger:
        try:
            done = review_mod.record(ledger, cfg, changes, by, source)
        except review_mod.ReviewError as exc:
            _fail(ctx, str(exc))
        if done:
            # The correction flows at once into the stored assessment, the tables and the export.
            report_mod.rebuild(cfg, ledger)
    for line in done:
        say(f"已记录（{by}）：{line}")
    if not done:
        say("没有新的变化（与台账中已有记录相同）")


@review.command("set")
@click.argument("target")
@click.argument("assignments", nargs=-1)
@click.option("--status", "status", default=None,
              help="accepted/needs_review/rejected (已受理/待核实/不予受理); handled (已处理) for a message.")
@click.option("--note", default=None, help="A note kept with the item.")
@click.option("--sender-ok", is_flag=True, help="A message (M…): its sender may speak for the recommender it is "
                                                "filed under (a clerk's personal address, a new one).")
@click.option("--remember-sender", is_flag=True, help="With --sender-ok: later mail from that address too.")
@click.option("--by", default=None, help="Who decides (default: $USER).")
@click.pass_context
def review_set(ctx: click.Context, target: str, assignments: tuple[str, ...], status: str | None,
               note: str | None, sender_ok: bool, remember_sender: bool, by: str | None) -> None:
    """Correct fields, decide, or note: TARGET is an application (A12 or 12) or a message (M5).

    FIELD=VALUE uses the form's keys or its Chinese labels.

    Example: intake review set A12 avg_trainees=3200 统一社会信用代码=52370100493001174X --status accepted --note 已电话核实
    """
    cfg = _load(ctx)
    _setup_logging(ctx.obj["verbose"])
    fields = field_names(cfg.templates_dir)
    try:
        tgt = review_mod.parse_target(target)
        changes = []
        if assignments:
            if tgt.kind is Kind.MESSAGE:
                raise review_mod.ReviewError("邮件没有可更正的字段；可用 --status handled 或 --note")
            for a in assignments:
                name, sep, value = a.replace("＝", "=").partition("=")
                if not sep:
                    raise review_mod.ReviewError(f"“{a}”应写成 字段=值")
                changes.append(review_mod.Change(tgt, *review_mod.parse_field(name, value, fields)))
        if status is not None:
            changes.append(review_mod.Change(tgt, Entry.STATUS, review_mod.parse_status(status, tgt)))
        if note:
            changes.append(review_mod.Change(tgt, Entry.NOTE, note))
        if sender_ok or remember_sender:
            changes.append(review_mod.Change(tgt, Entry.SENDER_OK, remember_sender))
    except review_mod.ReviewError as exc:
        _fail(ctx, str(exc))
    if not changes:
        _fail(ctx, "没有要记录的内容：请给出 字段=值、--status 或 --note")
    _record(ctx, cfg, changes, by or _clerk(), "cli")


@review.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--by", default=None, help="Who filled in the file (default: $USER).")
@click.pass_context
def review_import(ctx: click.Context, file: Path, by: str | None) -> None:
    """Record what a clerk filled in on 待处理.xlsx (状态, 更正, 备注, 纸质材料收到日期).

    Importing the same file again records nothing new.

    Example: intake review import output/2019年省级专业技术人员继续教育基地申报/待处理.xlsx --by 孙沛沛
    """
    cfg = _load(ctx)
    _setup_logging(ctx.obj["verbose"])
    try:
        changes, problems = review_mod.read_workbook(file.read_bytes(), cfg.round.deadline.year,
                                                     field_names(cfg.templates_dir))
    except review_mod.ReviewError as exc:
        _fail(ctx, str(exc))
    if problems:
        for p in problems:
            say(f"✗ {p}", err=True)
        _fail(ctx, "以上各行有误，整份文件未导入；改正后请重新导入")
    _record(ctx, cfg, changes, by or _clerk(), file.name)


@review.command("paper")
@click.argument("targets", nargs=-1, required=True)
@click.option("--copies", type=int, default=None, help="How many copies came (default: office.paper_copies).")
@click.option("--date", "on", default=None, help="The day they arrived (default: today).")
@click.option("--undo", is_flag=True, help="Mark them as not received after all.")
@click.option("--by", default=None, help="Who received them (default: $USER).")
@click.pass_context
def review_paper(ctx: click.Context, targets: tuple[str, ...], copies: int | None, on: str | None, undo: bool,
                 by: str | None) -> None:
    """Record that the paper copies of applications arrived by post.

    Example: intake review paper A3 A4 --date 2019-09-20
    """
    cfg = _load(ctx)
    _setup_logging(ctx.obj["verbose"])
    try:
        day = parse_day(on, cfg.round.deadline.year) if on else f"{datetime.now(SHANGHAI):%Y-%m-%d}"
    except BadDay as exc:
        _fail(ctx, f"--date：{exc}")
    value = {"copies": 0, "on": "", "undo": True} if undo else {"copies": copies or 0, "on": day}
    try:
        changes = [review_mod.Change(review_mod.parse_target(t), Entry.PAPER, value) for t in targets]
    except review_mod.ReviewError as exc:
        _fail(ctx, str(exc))
    _record(ctx, cfg, changes, by or _clerk(), "cli")


# ---------------------------------------------------------------- the console

@main.command()
@click.option("--host", default=None, help="Address to listen on (default: web.host, 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default: web.port, 8080).")
@click.pass_context
def web(ctx: click.Context, host: str | None, port: int | None) -> None:
    """The clerks' console in a browser: the round, its applications with the page each value was read
    from, corrections and decisions, messages, downloads. Accounts: `intake user add`.

    Example: intake web --port 8080
    """
    cfg = _load(ctx)
    _setup_logging(ctx.obj["verbose"], default=logging.INFO)
    with Ledger(cfg.ledger_path) as ledger:
        if not ledger.users():
            say("尚无控制台账号，请先开设：intake user add 用户名 --role clerk", err=True)
    host, port = host or cfg.web.host, port or cfg.web.port
    say(f"网页控制台：http://{host}:{port}{cfg.web.prefix}/（Ctrl-C 停止）")
    try:
        serve_console(cfg, host, port)
    except ValueError as exc:
        _fail(ctx, str(exc))


@main.group()
def user() -> None:
    """The console's accounts: clerk (corrects and decides) or viewer (reads only).

    Example: intake user add 孙沛沛 --role clerk
    """


def _new_password(prompt: str) -> str:
    """From the terminal, asked twice and not shown; or the first line of standard input (scripts)."""
    if sys.stdin.isatty():
        return click.prompt(prompt, hide_input=True, confirmation_prompt="再输入一次")
    return sys.stdin.readline().rstrip("\r\n")


@user.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice([r.value for r in accounts.Role]), default=accounts.Role.CLERK.value,
              show_default=True)
@click.pass_context
def user_add(ctx: click.Context, name: str, role: str) -> None:
    """Add an account (or give an existing one a new role and password).

    Example: intake user add 孙沛沛 --role clerk
    """
    cfg = _load(ctx)
    try:
        password = _new_password(f"{name} 的密码")
        with Ledger(cfg.ledger_path) as ledger:
            new = accounts.add(ledger, name, role, password)
    except accounts.AccountError as exc:
        _fail(ctx, str(exc))
    say(f"已{'开设' if new else '更新'}账号 {name}（{accounts.Role(role).label}）")


@user.command("passwd")
@click.argument("name")
@click.pass_context
def user_passwd(ctx: click.Context, name: str) -> None:
    """Set an account's password; its open sessions end.

    Example: intake user passwd 孙沛沛
    """
    cfg = _load(ctx)
    try:
        with Ledger(cfg.ledger_path) as ledger:
            if ledger.user(name) is None:
                raise accounts.AccountError(f"没有名为“{name}”的账号")
            accounts.change_password(ledger, name, _new_password(f"{name} 的新密码"))
    except accounts.AccountError as exc:
        _fail(ctx, str(exc))
    say(f"已修改 {name} 的密码")


@user.command("remove")
@click.argument("name")
@click.pass_context
def user_remove(ctx: click.Context, name: str) -> None:
    """Remove an account; its open sessions end at their next request. Its corrections stay, with its name.

    Example: intake user remove 孙沛沛
    """
    cfg = _load(ctx)
    with Ledger(cfg.ledger_path) as ledger:
        if not ledger.remove_user(name):
            _fail(ctx, f"没有名为“{name}”的账号")
    say(f"已删除账号 {name}")


@user.command("list")
@click.pass_context
def user_list(ctx: click.Context) -> None:
    """The accounts and their roles.

    Example: intake user list
    """
    cfg = _load(ctx)
    with Ledger(cfg.ledger_path) as ledger:
        rows = ledger.users()
    for row in rows:
        say(f"{row['name']}\t{accounts.Role(row['role']).label}\t开设于 {row['created_at'][:10]}")
    if not rows:
        say("尚无账号")
