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


def test_a_poll_skipped_while_the_pass_before_it_runs_is_no_warning():
    import threading
    import time
    from datetime import datetime

    from apscheduler.schedulers.background import BackgroundScheduler

    from pipeline.logs import setup
    setup(logging.INFO)
    scheduler_log = logging.getLogger("apscheduler.scheduler")
    skipped: list[str] = []

    class Count(logging.Filter):       # before intake's filter: what apscheduler said
        def filter(self, record):
            if "skipped" in record.getMessage():
                skipped.append(record.getMessage())
            return True

    shown: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record):
            shown.append(record)

    count, keep = Count(), Keep(logging.WARNING)
    scheduler_log.filters.insert(0, count)
    logging.getLogger("apscheduler").addHandler(keep)
    running, release = threading.Event(), threading.Event()

    def long_pass():
        running.set()
        release.wait(30)

    scheduler = BackgroundScheduler()
    scheduler.add_job(long_pass, "interval", seconds=0.1, max_instances=1, next_run_time=datetime.now())
    scheduler.start()
    try:
        assert running.wait(30)
        for _ in range(300):            # until apscheduler has skipped a poll or two
            if len(skipped) >= 2:
                break
            time.sleep(0.1)
    finally:
        release.set()
        scheduler.shutdown()
        scheduler_log.removeFilter(count)
        logging.getLogger("apscheduler").removeHandler(keep)
    assert len(skipped) >= 2, "apscheduler skipped no poll: the test did not make one wait"
    assert not [r for r in shown if "skipped" in r.getMessage()]
