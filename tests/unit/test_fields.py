"""Label-anchored extraction from positioned boxes, whatever reader made them."""
from pathlib import Path

import pytest

from pipeline.model import Box, Page, Track
from pipeline.read.fields import DERIVED_FROM_YEARS, SURE, extract, list_items, parse_track, read_track
from pipeline.read.forms import load_form
from pipeline.read.layout import Cell

FORM = load_form(Path(__file__).resolve().parents[2] / "templates" / "forms" / "annex1.yaml")


def row(y, *cells, width=100):
    """Boxes for one table row: each cell a (text) at consecutive columns; None leaves a cell empty."""
    return [Box(text, i * width, y, (i + 1) * width, y + 20) for i, text in enumerate(cells) if text is not None]


def test_value_right_of_label_two_pairs_in_a_row():
    page = Page(1, tuple(row(0, "统一社会信用代码", "91370100MA3C5W2X1K", "单位性质", "企业")
                         + row(20, "联系人", "王晓梅", "联系电话", "0531-88016235")))
    got = extract([page], FORM).fields
    assert got["credit_code"] == "91370100MA3C5W2X1K"
    assert got["unit_type"] == "企业"
    assert got["contact"] == "王晓梅"
    assert got["contact_phone"] == "0531-88016235"


def test_every_value_says_where_it_was_read():
    page = Page(2, tuple(row(0, "统一社会信用代码", "91370100MA3C5W2X1K")
                         + [Box("近三年年均培训人数：3,200人", 0, 40, 300, 60, 0.93),
                            Box("申报单位名称", 0, 80, 120, 100), Box("淄博齐鲁工业技术培训中心", 0, 102, 300, 122),
                            Box("（第二行）", 0, 124, 200, 144)]))
    got = extract([page], FORM).evidence
    code = got["credit_code"]
    assert (code.page, code.bbox, code.label_bbox, code.raw) == (2, (100, 0, 200, 20), (0, 0, 100, 20), "91370100MA3C5W2X1K")
    # Written in the label's own box: the box is the label's, the raw text what followed the colon.
    inline = got["avg_trainees"]
    assert (inline.bbox, inline.raw, inline.confidence) == ((0, 40, 300, 60), "3,200人", 0.93)
    below = got["unit_name"]          # a value over two lines under its label: both lines in its box
    assert below.bbox == (0, 102, 300, 144) and below.label_bbox == (0, 80, 120, 100)
    assert set(got) == {"credit_code", "avg_trainees", "unit_name"}     # nothing for what was not read


def test_empty_value_cell_is_missing_not_the_next_label():
    page = Page(1, tuple(row(0, "联系人", None, "联系电话", "0531-1")))
    got = extract([page], FORM)
    assert got.fields["contact"] is None
    assert "contact" in got.missing_required
    assert got.fields["contact_phone"] == "0531-1"


def test_value_below_label_when_nothing_right():
    page = Page(1, (Box("申报单位名称", 0, 0, 120, 20), Box("淄博齐鲁工业技术培训中心", 0, 22, 300, 42)))
    assert extract([page], FORM).fields["unit_name"] == "淄博齐鲁工业技术培训中心"


def test_inline_label_colon_value_and_full_width_forms():
    page = Page(1, (Box("单位名称：济南泉城继续教育研究院", 0, 0, 400, 20),
                    Box("近三年年均培训人数：３，２００人", 0, 30, 400, 50),
                    Box("教学场地面积（平方米）", 0, 60, 100, 80), Box("８６００．５", 100, 60, 200, 80)))
    got = extract([page], FORM).fields
    assert got["unit_name"] == "济南泉城继续教育研究院"
    assert got["avg_trainees"] == 3200
    assert got["floor_area"] == 8600.5


def test_wrapped_label_and_multiline_chinese_value():
    page = Page(1, (Box("近三年年均培训专\n业技术人员人数", 0, 0, 100, 40), Box("2600", 100, 0, 400, 40),
                    Box("主要培训领域", 0, 40, 100, 80), Box("新一代信息技术、高端装\n备制造", 100, 40, 400, 80)))
    got = extract([page], FORM).fields
    assert got["avg_trainees"] == 2600
    assert got["domains"] == "新一代信息技术、高端装备制造"


def test_first_occurrence_wins_and_confidence_is_carried():
    page = Page(1, (Box("申报单位名称", 0, 0, 100, 20, 0.9), Box("甲单位", 100, 0, 300, 20, 0.6),
                    Box("申报单位名称", 0, 100, 100, 120), Box("乙单位", 100, 100, 300, 120)))
    got = extract([page], FORM)
    assert got.fields["unit_name"] == "甲单位"
    assert got.confidence["unit_name"] == 0.6


@pytest.mark.parametrize("text, track", [
    ("☑省级继续教育基地　□省级继续教育基地（乡村振兴）专项　□原省级继续教育基地重新确认", Track.GENERAL),
    ("□省级继续教育基地 ■省级继续教育基地（乡村振兴）专项 □原省级继续教育基地重新确认", Track.RURAL),
    ("□省级继续教育基地 □乡村振兴专项 √原省级继续教育基地重新确认", Track.RECONFIRM),
    ("乡村振兴专项", Track.RURAL),
    ("继续教育培训机构审验", Track.AUDIT),
    ("☑省级继续教育基地 ☑乡村振兴专项", None),   # two ticks: a person decides
    ("□省级继续教育基地 □乡村振兴专项", None),    # none ticked
])
def test_track_from_ticked_boxes_or_words(text, track):
    assert parse_track(text, FORM) == track


def test_other_label_cell_is_not_taken_as_a_value():
    page = Page(1, tuple(row(0, "法定代表人", "推荐单位意见")))
    assert extract([page], FORM).fields["legal_rep"] is None


def cells(y, *texts, width=100, h=20):
    """One table row of whole cells, as pdfplumber, DOCX and a ruled scan give them: they touch."""
    return [Cell(t, i * width, y, (i + 1) * width, y + h) for i, t in enumerate(texts) if t is not None]


def test_a_cell_is_never_the_wrapped_line_of_the_cell_above():
    # Defect A (form-merged.pdf): 联系电话's value cell spans two rows; the cell under it in the next
    # rows is another field's value, and touching it must not make it a continuation.
    page = Page(1, tuple(
        cells(0, "通讯地址", "济南市历下区泉城路180号", "联系电话")
        + [Cell("0531-86925566", 300, 0, 400, 40)]
        + cells(20, "邮政编码", "250011")
        + cells(40, "联系人", "手机", "电子邮箱", "单位性质")
        + cells(60, "李文博", "13806418870", "qcjy@example.cn", "培训机构")))
    got = extract([page], FORM).fields
    assert got["contact_phone"] == "0531-86925566"
    assert (got["contact"], got["mobile"], got["email"], got["unit_type"]) == \
        ("李文博", "13806418870", "qcjy@example.cn", "培训机构")


def test_free_ocr_lines_of_one_value_still_join():
    page = Page(1, (Box("主管部门", 0, 0, 100, 20), Box("东营市人民政府国有资产监督", 110, 0, 400, 20),
                    Box("管理委员会", 110, 22, 220, 42)))
    assert extract([page], FORM).fields["supervisor"] == "东营市人民政府国有资产监督管理委员会"


def test_a_list_over_two_rows_reads_like_the_same_list_in_one():
    # Defect E: 主要培训领域 merged down beside two value rows, each a cell.
    page = Page(1, (Cell("主要培训领域", 0, 0, 100, 40), Cell("新一代信息技术、高端装备制造", 100, 0, 400, 20),
                    Cell("现代金融服务、医养健康", 100, 20, 400, 40)))
    assert extract([page], FORM).fields["domains"] == "新一代信息技术、高端装备制造、现代金融服务、医养健康"
    # Two paragraphs of one cell are one value wrapped, not two entries.
    page = Page(1, (Cell("通讯地址", 0, 0, 100, 40), Cell("济南市历下区\n泉城路180号", 100, 0, 400, 40)))
    assert extract([page], FORM).fields["address"] == "济南市历下区泉城路180号"


@pytest.mark.parametrize("text, track, sure", [
    ("☑省级继续教育基地　□省级继续教育基地（乡村振兴）专项　□原省级继续教育基地重新确认", Track.GENERAL, True),
    ("省级继续教育基地团省级继续教育基地（乡村振兴）专项口原省级继续教育基地重新确认口", Track.GENERAL, True),
    ("乡村振兴专项", Track.RURAL, True),                                        # typed words
    # Defect B: the line with the tick lost, only the last option and its empty box left.
    ("基地重新确认口", Track.RECONFIRM, False),
    # The tick itself lost: told by elimination, a guess.
    ("省级继续教育基地 □乡村振兴专项 □原省级继续教育基地重新确认", Track.GENERAL, False),
])
def test_a_track_no_box_shows_ticked_is_a_guess(text, track, sure):
    got, certainty = read_track(text, FORM)
    assert got == track
    assert (certainty == SURE) is sure and (certainty < 0.85) is not sure


def test_a_guessed_track_has_low_confidence_in_the_extraction():
    page = Page(1, (Box("申报类别", 0, 0, 100, 20, 0.999), Box("基地重新确认口", 110, 0, 300, 20, 0.998)))
    got = extract([page], FORM)
    assert got.fields["track"] == "reconfirm" and got.confidence["track"] < 0.85


@pytest.mark.parametrize("raw", ["1. 现代农业\n2. 畜牧兽医", "1、现代农业\n2、畜牧兽医", "(1)现代农业 (2)畜牧兽医",
                                 "①现代农业②畜牧兽医", "一、现代农业\n二、畜牧兽医", "1.现代农业；\n2.畜牧兽医。"])
def test_a_numbered_list_is_its_entries_joined_with_a_dun_comma(raw):
    page = Page(1, (Box("主要培训领域", 0, 0, 100, 20), Box(raw, 100, 0, 400, 40)))
    assert extract([page], FORM).fields["domains"] == "现代农业、畜牧兽医"


@pytest.mark.parametrize("raw", ["历下区经十路3、5号", "2019年1.5期", "现代农业、畜牧兽医"])
def test_what_only_looks_numbered_is_left_alone(raw):
    assert list_items(raw) == []


def test_the_row_of_yearly_figures_is_not_the_average_that_follows_it():
    page = Page(1, tuple(row(0, "近三年培训人数（人）", "2016年：3100人 2017年：3400人 2018年：4000人")
                         + row(20, "近三年年均培训专业技术人员人数", "3500")))
    got = extract([page], FORM)
    assert got.fields["avg_trainees"] == 3500 and got.evidence["avg_trainees"].raw == "3500"


def test_yearly_figures_alone_give_their_average_marked_as_derived():
    page = Page(1, tuple(row(0, "近三年培训人数（人）", "2016年：2600人；2017年：2900人；2018年：3200人")))
    got = extract([page], FORM)
    assert got.fields["avg_trainees"] == 2900
    assert got.evidence["avg_trainees"].source == DERIVED_FROM_YEARS


def test_a_year_is_never_a_count_and_a_unit_in_the_label_is_no_other_label():
    page = Page(1, tuple(row(0, "专职教师人数（人）", "27") + row(20, "近三年年均培训人数", "2018年起每年约3200人")))
    got = extract([page], FORM).fields
    assert got["fulltime_teachers"] == 27 and got["avg_trainees"] == 3200


def test_a_name_and_its_credit_code_in_one_cell_are_two_fields():
    page = Page(1, tuple(row(0, "申报单位名称及统一社会信用代码", "日照市海曲继续教育研究院 52371102579304168C")))
    got = extract([page], FORM)
    assert got.fields["unit_name"] == "日照市海曲继续教育研究院"
    assert got.fields["credit_code"] == "52371102579304168C"
    assert got.evidence["credit_code"].raw == "日照市海曲继续教育研究院 52371102579304168C"


def test_a_code_read_into_a_name_with_the_next_cell_is_taken_out_and_the_rest_dropped():
    page = Page(1, tuple(row(0, "单位名称", "济南某某培训中心52370100MJ0000000E培训机构")))
    got = extract([page], FORM).fields
    assert got["unit_name"] == "济南某某培训中心" and got["credit_code"] == "52370100MJ0000000E"


def test_an_invalid_code_in_a_value_is_left_where_it_is():
    page = Page(1, tuple(row(0, "单位名称", "济南某某培训中心52370100MJ0000000Y")))
    assert extract([page], FORM).fields["unit_name"] == "济南某某培训中心52370100MJ0000000Y"


def test_a_label_read_exactly_does_not_make_its_value_doubtful():
    # OCR unsure of a long label's strokes, and reading its small （人） as (V): the value is what counts.
    page = Page(1, (Box("近三年年均培训人数\n(V)", 0, 0, 100, 40, 0.784), Box("3000", 100, 0, 200, 40, 0.995)))
    got = extract([page], FORM)
    assert got.fields["avg_trainees"] == 3000 and got.confidence["avg_trainees"] == 0.995
