"""附件2 as the round assessment fills it: whose tables there are, and their 填报日期. Pure: no files."""
from __future__ import annotations

from test_assess import AFTER, JINAN, QINGDAO, Round

from pipeline.model import Track
from pipeline.outputs import report
from pipeline.round.assess import UNKNOWN_RECOMMENDER

REBUILT = "2019年10月8日"       # the day the tables are rebuilt: no recommender's 填报日期


def test_each_recommenders_table_carries_its_own_date_not_the_day_of_the_rebuild(config):
    rnd = Round(config)
    rnd.mail(JINAN, 10, filled_on="2019年9月9日", apps=[("甲培训学院", Track.GENERAL)])
    rnd.mail(QINGDAO, 12, apps=[("乙乡村学院", Track.RURAL)])
    rnd.mail(QINGDAO, 15, apps=[("丙乡村学院", Track.RURAL)])
    province, per = report.sheets(config, rnd.run(AFTER), REBUILT)
    assert per[JINAN].filled_on == "2019年9月9日"          # as its 汇总表 says
    assert per[QINGDAO].filled_on == "2019年9月15日"       # its latest email's delivery day
    assert province.filled_on == REBUILT                    # the office's own table: when it was made


def test_direct_applicants_and_unknown_senders_have_no_table_to_stamp_but_are_in_the_province_table(config):
    rnd = Round(config)
    base = config.reconfirm_list[0]
    rnd.mail(JINAN, 10, apps=[("甲培训学院", Track.GENERAL)])
    rnd.mail("直接报送", 11, apps=[(base, Track.RECONFIRM)])
    rnd.mail(UNKNOWN_RECOMMENDER, 12, sender="someone@163.com", apps=[("乙学院", Track.GENERAL)])
    province, per = report.sheets(config, rnd.run(AFTER), REBUILT)
    assert list(per) == [JINAN]
    assert [(r.recommender, r.applicant) for r in province.rows] == [
        (JINAN, "甲培训学院"), ("直接报送", base), (f"{UNKNOWN_RECOMMENDER}（someone@163.com）", "乙学院")]


def test_what_the_tables_are_built_from_changes_with_every_input_and_nothing_else(config, tmp_path):
    import dataclasses
    import shutil
    from datetime import timedelta

    from pipeline.store import Ledger

    templates = tmp_path / "templates"
    shutil.copytree(config.templates_dir, templates)
    config = dataclasses.replace(config, templates_dir=templates)
    before = config.round.deadline - timedelta(days=1)
    with Ledger(tmp_path / "ledger.sqlite3") as ledger:
        first = report.inputs(config, ledger, before)
        assert report.inputs(config, ledger, before + timedelta(hours=1)) == first     # time alone: the same
        after = report.inputs(config, ledger, config.round.deadline + timedelta(seconds=1))
        assert after != first                                # the deadline passed: 未申请 becomes 已逾期
        ledger.add_correction(config.round.name, "A1", "note", "已电话核实", "孙沛沛")
        corrected = report.inputs(config, ledger, before)
        assert corrected != first
        (templates / "summary_table.docx").write_bytes(b"another template")
        retemplated = report.inputs(config, ledger, before)
        assert retemplated != corrected
        with (templates / "forms" / "annex1.yaml").open("a", encoding="utf-8") as form:
            form.write("\n# a clerk's edit\n")
        assert report.inputs(config, ledger, before) != retemplated
        changed = dataclasses.replace(config, round=dataclasses.replace(config.round, min_trainees=1500))
        assert report.inputs(changed, ledger, before) != report.inputs(config, ledger, before)
