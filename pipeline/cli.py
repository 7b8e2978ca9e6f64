"""The `intake` command: a thin layer over the library. Every command's help carries an example."""
from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import click

from . import config as config_mod
from .mail.source import NotAvailable

log = logging.getLogger("intake")


def _setup_logging(verbose: bool, default: int = logging.WARNING) -> None:
    logging.basicConfig(level=logging.INFO if verbose else default, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _load(ctx: click.Context) -> config_mod.Config:
    try:
        return config_mod.load(ctx.obj["config"])
    except config_mod.ConfigError as exc:
        click.echo(str(exc), err=True)
        ctx.exit(2)


def _fail(ctx: click.Context, message: str) -> None:
    click.echo(message, err=True)
    ctx.exit(2)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
@click.pass_context
def poll(ctx: click.Context, once: bool) -> None:
    """Fetch new mail, process it, file it, rebuild the tables, send the receipts.

    Example: intake poll --once
    """
    cfg = _load(ctx)
    _setup_logging(ctx.obj["verbose"])
    if not once:
        ctx.invoke(run)
        return
    _one_pass(ctx, cfg)


def _one_pass(ctx: click.Context, cfg: config_mod.Config):
    from .flow import run_pass

    try:
        if sys.stderr.isatty():
            with click.progressbar(length=0, label="处理邮件", file=sys.stderr, show_pos=True) as bar:
                result = run_pass(cfg, progress=bar.update)
        else:
            result = run_pass(cfg)
    except (NotAvailable, FileNotFoundError) as exc:
        _fail(ctx, f"无法打开邮箱 / cannot open the mailbox: {exc}")
    click.echo(f"本次处理：收取邮件 {result.fetched} 封，申报 {result.submissions} 封，"
               f"忽略 {result.ignored} 封，待人工查看 {result.review} 封，发送回执 {result.receipts_sent} 封。")
    if result.review_items:
        click.echo("需要核对：")
        for item in result.review_items:
            click.echo(f"  - {item}")
    click.echo(f"输出目录：{cfg.output_dir / cfg.round.name}")
    return result


@main.command()
@click.pass_context
def run(ctx: click.Context) -> None:
    """The service: a pass every schedule.poll_every until SIGTERM or Ctrl-C.

    Example: intake --config /etc/intake/inbox_rules.yaml run
    """
    cfg = _load(ctx)
    _setup_logging(ctx.obj["verbose"], default=logging.INFO)
    from .schedule import serve

    serve(cfg)


@main.command()
@click.pass_context
def report(ctx: click.Context) -> None:
    """Rebuild every 汇总表 and 受理回执 from the ledger, without touching the mailbox.

    Example: intake report
    """
    cfg = _load(ctx)
    _setup_logging(ctx.obj["verbose"])
    from . import report as report_mod
    from .store import Ledger

    with Ledger(cfg.ledger_path) as ledger:
        written = report_mod.build(cfg, ledger)
    click.echo(f"已生成 {len(written)} 个文件，位于 {cfg.output_dir / cfg.round.name}")


@main.command()
@click.option("--format", "fmt", type=click.Choice(["json"]), default="json", show_default=True)
@click.option("--round", "round_name", default=None, help="Round name (default: the configured round).")
@click.pass_context
def export(ctx: click.Context, fmt: str, round_name: str | None) -> None:
    """Print the round's messages and applications as one JSON object.

    Example: intake export --format json > round.json
    """
    cfg = _load(ctx)
    _setup_logging(ctx.obj["verbose"])
    from .export import export as export_round
    from .store import Ledger

    with Ledger(cfg.ledger_path) as ledger:
        data = export_round(ledger, round_name or cfg.round.name)
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


@main.command()
@click.pass_context
def demo(ctx: click.Context) -> None:
    """Write a sample mailbox of realistic submissions, run one pass, say where the outputs are.

    Example: intake demo
    """
    cfg = _load(ctx)
    _setup_logging(ctx.obj["verbose"])
    from .demo import install

    try:
        path, added = install(cfg)
    except ValueError as exc:
        _fail(ctx, str(exc))
    click.echo(f"示例邮箱：{path}（新放入 {added} 封示例邮件）")
    _one_pass(ctx, cfg)
    out = cfg.output_dir / cfg.round.name
    click.echo(f"全省汇总表：{out / '附件2_申报汇总表_全省.xlsx'}")
    click.echo(f"回执邮件：{cfg.outbox.display()}")
    click.echo("查看全部结果：intake export --format json")


@main.command()
@click.pass_context
def check(ctx: click.Context) -> None:
    """Validate the configuration and try the mailbox and the outbox.

    Example: intake check
    """
    cfg = _load(ctx)
    from .read.document import Forms
    from .read.forms import FormDefinitionError

    problems = []
    try:
        Forms.load(cfg.templates_dir)
    except FormDefinitionError as exc:
        problems.append(f"表单定义有误 / form definitions: {exc}")
    for name in ("summary_table.docx", "summary_province.docx", "receipt_letter.docx",
                 "mail/receipt.txt.j2", "mail/receipt.html.j2"):
        if not (cfg.templates_dir / name).is_file():
            problems.append(f"缺少模板 / missing template: {cfg.templates_dir / name}")
    for label, url in (("邮箱 / mailbox", cfg.mailbox), ("发件箱 / outbox", cfg.outbox)):
        if url.scheme == "maildir":
            where = Path(url.path)
            if label.startswith("邮箱") and not (where / "new").is_dir():
                problems.append(f"{label}: 找不到 Maildir / no Maildir at {where} (new/ missing)")
        else:
            problems.append(f"{label}: {url.display()} — 暂不支持 / not supported yet, use maildir:PATH")
    click.echo(f"配置文件 / configuration: {cfg.source} — 格式正确 / valid")
    if problems:
        for p in problems:
            click.echo(f"✗ {p}", err=True)
        ctx.exit(1)
    click.echo(f"✓ 邮箱 / mailbox {cfg.mailbox.display()}；发件箱 / outbox {cfg.outbox.display()}；"
               f"输出 / output {cfg.output_dir}")
