"""The whole pass through the CLI, on a Maildir in a temporary folder: export, files, tables, outbox."""
from __future__ import annotations

import email
import json
import os
import subprocess
import sys
from email import policy
from pathlib import Path

import pytest
from conftest import deliver_samples, make_config, make_environ
from docx import Document as open_docx
from openpyxl import load_workbook

from pipeline.demo import samples
from pipeline.receipt import receipt_subject

pytestmark = [pytest.mark.ocr, pytest.mark.office]   # all the samples, the scanned one too; PDF copies

ROUND = "2019年省级专业技术人员继续教育基地申报"


def intake(environ, *args) -> subprocess.CompletedProcess:
    env = {**os.environ, **environ}
    proc = subprocess.run([sys.executable, "-m", "pipeline", *args], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    return proc


def outbox(tmp_path: Path) -> list[email.message.EmailMessage]:
    folder = tmp_path / "mail" / "sent" / "new"
    return [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in sorted(folder.iterdir())]


# One pass over all samples serves every test here; the tests only read, or re-run and compare.
@pytest.fixture(scope="module")
def tmp_path(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("pass")


@pytest.fixture(scope="module")
def environ(tmp_path) -> dict[str, str]:
    return make_environ(tmp_path, pdf=True)       # the one whole pass whose PDF copies are looked at


@pytest.fixture(scope="module")
def first_pass(environ):
    deliver_samples(make_config(environ))
    proc = intake(environ, "poll", "--once")
    print(proc.stdout, proc.stderr)     # shown beside the first test that fails: the pass's own account
    export = json.loads(intake(environ, "export", "--format", "json").stdout)
    return proc, export


def by_applicant(export) -> dict[str, dict]:
    return {a["applicant"]: a for a in export["applications"]}


def test_every_message_has_an_outcome(first_pass):
    proc, export = first_pass
    assert "收取邮件 8 封" in proc.stdout
    outcomes = {m["message_id"]: m["outcome"] for m in export["messages"]}
    assert len(outcomes) == 8
    assert sorted(outcomes.values()).count("submission") == 6
    assert outcomes["<sample-04.not@smtp.qq.example.com>"] == "ignored"
    assert outcomes["<sample-05.auto@mail.weifang.example.cn>"] == "ignored"
    sent = {m["message_id"]: m["receipt_sent"] for m in export["messages"]}
    assert all(sent[m] == (o == "submission") for m, o in outcomes.items())


def test_applications_tracks_statuses_and_flags(first_pass):
    _, export = first_pass
    apps = by_applicant(export)
    jinan = [a for a in export["applications"] if a["recommender"] == "济南市人力资源和社会保障局"]
    assert sorted(a["track"] for a in jinan) == ["general", "rural", "rural"]
    assert all(a["status"] == "accepted" and a["recommender_kind"] == "city" for a in jinan)
    assert apps["济南职业技术培训学院"]["fields"]["avg_trainees"] == 3200

    edu = apps["山东理工职业学院继续教育学院"]
    assert edu["recommender_kind"] == "department" and edu["documents"][0]["method"] == "docx"

    direct = apps["山东水利职业学院继续教育学院"]
    assert (direct["recommender_kind"], direct["track"], direct["status"]) == ("direct", "reconfirm", "accepted")

    late = apps["郓城乡村振兴人才培训学校"]
    assert late["status"] == "rejected" and "late" in late["flags"]

    energy = apps["山东能源集团技师学院培训中心"]
    assert {"invalid_credit_code", "trainees_below_minimum", "subject_nonconforming"} <= set(energy["flags"])
    assert energy["status"] == "needs_review"

    # Image-only scans, read by OCR: the form's values as in tests/data/samples/MANIFEST.md.
    scanned = apps["东营石油技术培训中心"]
    assert scanned["recommender"] == "东营市人力资源和社会保障局"
    assert [d["method"] for d in scanned["documents"]] == ["ocr"]
    assert (scanned["track"], scanned["fields"]["credit_code"], scanned["fields"]["avg_trainees"]) == \
        ("general", "91370500165418739P", 2600)


def test_files_are_where_the_export_says(first_pass, tmp_path):
    _, export = first_pass
    out = tmp_path / "output"
    for app in export["applications"]:
        for doc in app["documents"]:
            path = out / doc["path"]
            assert path.is_file(), doc
            assert path.parent.name == app["applicant"]
            assert path.parent.parent.name == app["recommender"]
    raw = sorted(p.read_bytes() for p in (out / "raw").rglob("*.eml"))
    assert raw == sorted(data for _, data in samples())


def test_summary_tables_rows(first_pass, tmp_path):
    _, export = first_pass
    rnd = tmp_path / "output" / ROUND
    names = {a["applicant"] for a in export["applications"]}
    wb = load_workbook(rnd / "附件2_申报汇总表_全省.xlsx")
    sheet = wb.worksheets[0]
    found = {c.value for row in sheet.iter_rows() for c in row if c.value in names}
    assert found == names
    jinan = load_workbook(rnd / "济南市人力资源和社会保障局" / "附件2_申报汇总表_济南市人力资源和社会保障局.xlsx")
    cells = [c.value for row in jinan.worksheets[0].iter_rows() for c in row]
    assert {"济南职业技术培训学院", "章丘农业技术推广培训中心", "平阴乡村人才学院"} <= set(cells)
    assert "山东理工职业学院继续教育学院" not in cells
    province = open_docx(rnd / "附件2_申报汇总表_全省.docx")
    texts = {cell.text for table in province.tables for row in table.rows for cell in row.cells}
    assert names <= texts
    assert any("逾期报送" in t for t in texts)  # 备注 speaks the flags in Chinese
    letters = list(rnd.glob("*/受理回执/*.docx"))
    assert len(letters) == 6
    # LibreOffice is installed here: every Word file has its PDF copy beside it
    words = sorted(rnd.rglob("附件2_*.docx")) + sorted(letters)
    assert all(p.with_suffix(".pdf").is_file() and p.with_suffix(".pdf").read_bytes()[:5] == b"%PDF-"
               for p in words)


def test_receipts_in_the_outbox(first_pass, tmp_path):
    _, export = first_pass
    mails = outbox(tmp_path)
    assert len(mails) == 6
    originals = {m["message_id"]: m for m in export["messages"]}
    for mail in mails:
        assert mail["Auto-Submitted"] == "auto-replied"
        assert mail["X-Auto-Response-Suppress"] == "All"
        assert mail["In-Reply-To"] in originals
        assert mail["In-Reply-To"] in mail["References"]
        original = originals[mail["In-Reply-To"]]
        assert mail["To"].addresses[0].addr_spec == original["from"]
        assert mail["Subject"] == receipt_subject(original["subject"])
        assert not mail["Subject"].startswith("受理回执：Re")
        body = mail.get_body(("plain",)).get_content()
        apps = [a for a in export["applications"] if a["message_id"] == mail["In-Reply-To"]]
        assert all(a["applicant"] in body for a in apps)
        if all(a["status"] == "rejected" for a in apps):
            # 逾期不再受理: the sender is told so, and not asked to post paper copies
            assert "不予受理" in body and "解放东路16号" not in body
        else:
            assert "解放东路16号" in body and "一式3份" in body
    heze = next(m for m in mails if m["In-Reply-To"] == "<sample-07.heze@mail.heze.example.cn>")
    assert "逾期报送" in heze.get_body(("plain",)).get_content()
    assert "无需邮寄纸质材料" in heze.get_body(("plain",)).get_content()
    html = next(m for m in mails if "rsj@jinan" in str(m["To"])).get_body(("html",)).get_content()
    assert "<table" in html and "济南职业技术培训学院" in html


def test_second_pass_does_nothing_new(first_pass, environ, tmp_path):
    _, export = first_pass
    proc = intake(environ, "poll", "--once")
    assert "收取邮件 0 封" in proc.stdout and "发送回执 0 封" in proc.stdout
    again = json.loads(intake(environ, "export").stdout)
    assert again == export
    assert len(outbox(tmp_path)) == 6
    inbox = tmp_path / "mail" / "inbox"
    assert not list((inbox / "new").iterdir())
    assert all(p.name.endswith(":2,S") for p in (inbox / "cur").iterdir())


def _stamps(folder: Path) -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


def test_an_idle_pass_rewrites_nothing_and_restores_what_went_missing(first_pass, environ, tmp_path):
    # Nothing new, nothing changed: the round is not assessed again and no table or letter is rewritten.
    rnd = tmp_path / "output" / ROUND
    before = _stamps(rnd)
    intake(environ, "poll", "--once")
    assert _stamps(rnd) == before
    # A table someone deleted is back after the next pass.
    (rnd / "统计.xlsx").unlink()
    intake(environ, "poll", "--once")
    assert (rnd / "统计.xlsx").is_file()
    # A clerk's correction rebuilds at once; the pass after it has nothing left to do.
    intake(environ, "review", "set", "A1", "--note", "已电话核实")
    rebuilt = _stamps(rnd)
    assert rebuilt[rnd / "附件2_申报汇总表_全省.xlsx"] > before[rnd / "附件2_申报汇总表_全省.xlsx"]
    intake(environ, "poll", "--once")
    assert _stamps(rnd) == rebuilt


def test_report_rebuilds_from_the_ledger_alone(first_pass, environ, tmp_path):
    rnd = tmp_path / "output" / ROUND
    for p in rnd.glob("**/*.docx"):
        p.unlink()
    proc = intake(environ, "report")
    assert "已生成" in proc.stdout
    assert (rnd / "附件2_申报汇总表_全省.docx").is_file()
    assert len(list(rnd.glob("*/受理回执/*.docx"))) == 6
    assert len(outbox(tmp_path)) == 6  # no mail is sent by a report
