"""One file, several documents: a 推荐函 and a 申请表 scanned or printed into one PDF."""
from __future__ import annotations

from pathlib import Path

from pipeline.model import Attachment, Box, DocKind, Page
from pipeline.read.classify import split
from pipeline.read.document import read_attachments
from pipeline.read.forms import Forms
from pipeline.read.sniff import sniff

ROOT = Path(__file__).resolve().parents[2]
FORMS = Forms.load(ROOT / "templates")


def page(number: int, *lines: str) -> Page:
    return Page(number, tuple(Box(text, 50, 40 + 30 * i, 500, 60 + 30 * i) for i, text in enumerate(lines)))


def test_a_page_whose_heading_names_another_kind_starts_another_document():
    pages = (page(1, "关于推荐济南职业技术培训学院的函", "推荐函", "现推荐以下单位"),
             page(2, "山东省专业技术人员继续教育基地申请表", "申报单位名称"),
             page(3, "主要培训领域", "近三年年均培训人数"))          # the form's second page: no heading
    assert [[p.number for p in run] for run in split(pages, FORMS.kinds, FORMS.page_labels())] == [[1], [2, 3]]


def numbers(pages: tuple[Page, ...]) -> list[list[int]]:
    return [[p.number for p in run] for run in split(pages, FORMS.kinds, FORMS.page_labels())]


def test_an_untitled_page_without_the_forms_labels_after_a_form_is_a_document_of_its_own():
    # 佐证材料 scanned behind the 申请表 without a heading: read with the form, its figures would be the form's.
    form = page(2, "山东省专业技术人员继续教育基地申请表", "申报单位名称", "统一社会信用代码")
    record = page(3, "近三年培训情况统计", "2016年 第1期 专业技术人员知识更新培训 参训150人")
    photo = page(4, "2017年 第2期 培训现场")
    letter = page(5, "推荐函", "现推荐以下单位")
    assert numbers((page(1, "推荐函", "现推荐"), form, record, photo, letter)) == [[1], [2], [3, 4], [5]]


def test_an_untitled_page_printing_the_forms_labels_or_nothing_stays_with_the_form():
    form = page(1, "山东省专业技术人员继续教育基地申请表", "申报单位名称")
    rest = page(2, "年度继续教育经费投入（万元）", "420")
    assert numbers((form, rest, page(3))) == [[1, 2, 3]]
    # A letter's second page prints no labels at all: it stays the letter's.
    assert numbers((page(1, "推荐函", "现推荐以下单位"), page(2, "特此推荐。", "联系人：单晓光"))) == [[1, 2]]


def test_a_kind_named_deep_in_a_page_does_not_split_it():
    letter = page(2, "此页为推荐函续页，所附材料共三份，分别为单位简介、办学许可证复印件及继续教育基地申请表", "特此推荐")
    assert len(split((page(1, "推荐函", "现推荐"), letter), FORMS.kinds)) == 1


def test_a_printed_form_and_letter_in_one_pdf_are_two_documents_with_their_pages():
    data = (ROOT / "tests" / "data" / "real" / "c3-form-letter-text.pdf").read_bytes()
    form, letter = read_attachments([Attachment("材料.pdf", "application/pdf", data, sniff(data))], FORMS)
    assert (form.kind, form.part, [p.number for p in form.pages]) == (DocKind.FORM, "第1页", [1])
    assert (letter.kind, letter.part, [p.number for p in letter.pages]) == (DocKind.LETTER, "第2页", [2])
    assert form.filename == letter.filename == "材料.pdf" and form.fields["unit_name"]
    assert letter.listed and form.field_evidence["unit_name"].page == 1
