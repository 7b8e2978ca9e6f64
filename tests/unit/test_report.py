"""附件2 as the round assessment fills it: whose tables there are, and their 填报日期. Pure: no files."""
from __future__ import annotations

from pipeline import report
from pipeline.assess import UNKNOWN_RECOMMENDER
from pipeline.model import Track
from test_assess import AFTER, JINAN, QINGDAO, Round

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
