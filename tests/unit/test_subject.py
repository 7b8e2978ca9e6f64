import pytest

from pipeline.model import Track
from pipeline.subject import parse_subject


@pytest.mark.parametrize("raw, who, conforming, hint", [
    ("济南市继续教育基地申报", "济南市", True, None),
    ("济南市人力资源和社会保障局继续教育基地申报", "济南市人力资源和社会保障局", True, None),
    ("Re: 山东能源集团继续教育基地申报材料", "山东能源集团", False, None),
    ("回复：转发：【东营市】继续教育基地申报", "东营市", True, None),
    ("FW: RE: 青岛市 继续教育基地申报", "青岛市", True, None),
    ("山东水利职业学院继续教育学院继续教育基地申报（重新确认）", "山东水利职业学院继续教育学院", True, Track.RECONFIRM),
    ("济宁儒乡继续教育培训学校继续教育基地申报(审验)", "济宁儒乡继续教育培训学校", True, Track.AUDIT),
    ("关于推荐济南职业学院申报继续教育基地", "济南职业学院", False, None),
    ("济南市人社局关于推荐省级专业技术人员继续教育基地申报", "济南市人社局", True, None),
    ("潍坊市继续教育基地申报（乡村振兴专项）", "潍坊市", True, Track.RURAL),
    ("ＸＸ市继续教育基地申报", "XX市", True, None),  # full-width letters
])
def test_subjects_that_are_submissions(raw, who, conforming, hint):
    info = parse_subject(raw)
    assert info.related
    assert info.who == who
    assert info.conforming is conforming
    assert info.track_hint == hint


@pytest.mark.parametrize("raw", ["关于专业技术人员继续教育学时登记的咨询", "", "会议通知", "继续教育学时证明"])
def test_subjects_that_are_not(raw):
    info = parse_subject(raw)
    assert not info.related and not info.conforming and info.who == ""


def test_bare_suffix_names_nobody():
    info = parse_subject("继续教育基地申报")
    assert info.related and not info.conforming and info.who == ""


def test_configured_suffix_is_used():
    assert parse_subject("济南市继续教育基地认定申请", suffix="继续教育基地认定申请").conforming
    assert not parse_subject("济南市继续教育基地申报", suffix="继续教育基地认定申请").conforming
