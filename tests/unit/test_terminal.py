"""Nothing a sender wrote reaches the engineer's terminal or log as something the terminal would act on."""
import logging

from click.testing import CliRunner

from pipeline.cli import say
from pipeline.logs import OfficeTime

TRICKS = "申请表\x1b[2J\x1b]0;pwned\x07\u202egpj.exe\x9b31m\u200b结束"


def test_printed_text_keeps_its_words_and_loses_what_a_terminal_would_act_on():
    import click

    @click.command()
    def show():
        say(TRICKS + "\n第二行\t制表")

    out = CliRunner().invoke(show).output
    assert out == "申请表[2J]0;pwnedgpj.exe31m结束\n第二行\t制表\n"


def test_log_lines_lose_them_too():
    record = logging.LogRecord("intake.flow", logging.WARNING, __file__, 1, "receipt for %s", (TRICKS,), None)
    line = OfficeTime("%(message)s").format(record)
    assert line == "receipt for 申请表[2J]0;pwnedgpj.exe31m结束"
