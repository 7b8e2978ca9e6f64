"""inbox_rules.yaml: the office's file loads into typed objects; a wrong one names the key."""
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from pipeline.config import DEFAULT_NEEDS_REVIEW, DEFAULT_REJECTED, ConfigError, from_mapping, load
from pipeline.model import Flag, RecommenderKind, Track

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "inbox_rules.yaml"


def base() -> dict:
    return yaml.safe_load(RULES.read_text(encoding="utf-8"))


def test_the_shipped_file_has_the_round_the_cities_and_the_lists():
    cfg = load(RULES, environ={})
    assert cfg.round.deadline.isoformat() == "2019-09-22T23:59:59+08:00"
    assert cfg.round.min_trainees == 2000
    cities = [r for r in cfg.recommenders if r.kind is RecommenderKind.CITY]
    assert len(cities) == 16
    assert {r.kind for r in cfg.recommenders} == {RecommenderKind.CITY, RecommenderKind.DEPARTMENT,
                                                  RecommenderKind.ENTERPRISE}
    assert cfg.quotas[RecommenderKind.CITY].per_track == {Track.GENERAL: 1, Track.RURAL: 2}
    assert cfg.quotas[RecommenderKind.DEPARTMENT].total == 1
    assert len(cfg.audit_list) == 8 and cfg.reconfirm_list
    assert cfg.poll_every == timedelta(minutes=5)
    assert cfg.cache_size == 2 * 1024 ** 3
    assert cfg.processing.pass_budget == timedelta(minutes=10)
    # relative paths are relative to the file's folder, not the current directory
    assert cfg.output_dir == ROOT / "output"
    assert cfg.mailbox.path == ROOT / "mail" / "inbox"


def test_environment_overrides_and_passwords(tmp_path):
    env = {"INTAKE_MAILBOX_URL": "imaps://intake@mail.example.cn/已处理", "INTAKE_OUTBOX_URL": "smtp://mail.example.cn",
           "INTAKE_OUTPUT_DIR": str(tmp_path), "INTAKE_MAILBOX_PASSWORD": "s3cret"}
    cfg = load(RULES, environ=env)
    assert (cfg.mailbox.scheme, cfg.mailbox.host, cfg.mailbox.port, cfg.mailbox.folder) == \
        ("imaps", "mail.example.cn", 993, "已处理")
    assert cfg.outbox.port == 587 and cfg.output_dir == tmp_path
    assert cfg.mailbox_password == "s3cret" and "s3cret" not in cfg.mailbox.display()


def test_intake_config_names_the_file(tmp_path):
    other = tmp_path / "rules.yaml"
    data = base()
    data["round"]["name"] = "2020年申报"
    other.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert load(environ={"INTAKE_CONFIG": str(other)}).round.name == "2020年申报"


@pytest.mark.parametrize("mutate, key", [
    (lambda d: d["round"].update(deadline="9月22日"), "round.deadline"),
    (lambda d: d["round"].update(deadline="2019-09-22T23:59:59"), "round.deadline"),  # no offset
    (lambda d: d["round"].pop("name"), "round.name"),
    (lambda d: d["mailbox"].update(url="pop3://x@y"), "mailbox.url"),
    (lambda d: d["mailbox"].update(url="imaps://u:pw@host/INBOX"), "mailbox.url"),
    (lambda d: d["outbox"].update(url="smtp://host?tls=maybe"), "outbox.url"),
    (lambda d: d["schedule"].update(poll_every="often"), "schedule.poll_every"),
    (lambda d: d["recommenders"][2].update(kind="county"), "recommenders 第3项（淄博市人力资源和社会保障局）.kind"),
    (lambda d: d["recommenders"][0].update(senders="rsj@jinan"), "recommenders 第1项（济南市人力资源和社会保障局）.senders"),
    (lambda d: d["recommenders"].append(dict(d["recommenders"][0])), "recommenders 第22项（济南市人力资源和社会保障局）.name"),
    (lambda d: d["quotas"]["city"].update(total="三"), "quotas.city.total"),
    (lambda d: d["quotas"].pop("enterprise"), "quotas.enterprise"),
    (lambda d: d["statuses"].update(rejected=["too_late"]), "statuses.rejected"),
    (lambda d: d["lists"].update(audit="全部"), "lists.audit"),
    (lambda d: d["ocr"].update(page_timeout=0), "ocr.page_timeout"),
    (lambda d: d["mailbox"].update(mark_flag="已处理"), "mailbox.mark_flag"),   # not an IMAP atom
    (lambda d: d["mailbox"].update(mark_flag="$Intake Done"), "mailbox.mark_flag"),
    (lambda d: d["web"].update(port=70000), "web.port"),
    (lambda d: d["web"].update(prefix="intake"), "web.prefix"),
    (lambda d: d["web"].update(prefix="/in take"), "web.prefix"),
    (lambda d: d["web"].update(https="yes please"), "web.https"),
    (lambda d: d["outputs"].update(cache_size="很大"), "outputs.cache_size"),
    (lambda d: d["processing"].update(pass_budget="0m"), "processing.pass_budget"),
])
def test_a_wrong_file_names_the_key(mutate, key):
    data = base()
    mutate(data)
    with pytest.raises(ConfigError) as err:
        from_mapping(data, ROOT, environ={})
    assert err.value.key == key
    assert key in str(err.value)


def test_the_console_section_is_optional_and_read_when_given():
    data = base()
    data.pop("web")
    assert from_mapping(data, ROOT, environ={}).web.port == 8080
    data["web"] = {"host": "0.0.0.0", "port": 9000, "prefix": "/intake/", "https": True}
    web = from_mapping(data, ROOT, environ={}).web
    assert (web.host, web.port, web.prefix, web.https) == ("0.0.0.0", 9000, "/intake", True)


def test_broken_yaml_and_missing_file(tmp_path):
    bad = tmp_path / "inbox_rules.yaml"
    bad.write_text("round: {name: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="valid YAML"):
        load(bad, environ={})
    with pytest.raises(ConfigError, match=r"existing inbox_rules\.yaml"):
        load(tmp_path / "nope.yaml", environ={})


def test_cli_exits_2_with_one_clear_message(tmp_path):
    data = base()
    data["round"]["deadline"] = "明天"
    bad = tmp_path / "inbox_rules.yaml"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "pipeline", "--config", str(bad), "check"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "round.deadline" in proc.stderr and "Traceback" not in proc.stderr


# ---------------------------------------------------------------- statuses: defaults and typos

def test_status_defaults_are_what_the_shipped_file_documents():
    shipped = base()["statuses"]
    # The file writes the defaults out in full: the two may never drift apart.
    assert shipped["rejected"] == [f.value for f in DEFAULT_REJECTED]
    assert shipped["needs_review"] == [f.value for f in DEFAULT_NEEDS_REVIEW]
    data = base()
    del data["statuses"]
    cfg = from_mapping(data, ROOT, environ={})
    assert cfg.rejected_flags == {Flag.LATE}
    assert cfg.review_flags == set(DEFAULT_NEEDS_REVIEW) == load(RULES, environ={}).review_flags
    # SPEC: these block for review; condition 五, the subject and a resubmission only inform.
    assert {Flag.UNKNOWN_SENDER, Flag.QUOTA_EXCEEDED, Flag.DUPLICATE_APPLICANT, Flag.CLOUD_ATTACHMENT_LINK} <= \
        cfg.review_flags
    assert not {Flag.TRAINEES_BELOW_MINIMUM, Flag.SUBJECT_NONCONFORMING, Flag.SUPERSEDED} & \
        (cfg.review_flags | cfg.rejected_flags)


def test_one_status_list_left_out_keeps_its_default_and_the_other_as_written():
    data = base()
    data["statuses"] = {"needs_review": ["unknown_sender", "trainees_below_minimum"]}
    cfg = from_mapping(data, ROOT, environ={})
    assert cfg.rejected_flags == {Flag.LATE}
    assert cfg.review_flags == {Flag.UNKNOWN_SENDER, Flag.TRAINEES_BELOW_MINIMUM}


def test_a_flag_both_rejected_and_for_review_is_refused():
    data = base()
    data["statuses"]["rejected"] = ["late", "quota_exceeded"]
    with pytest.raises(ConfigError) as err:
        from_mapping(data, ROOT, environ={})
    assert err.value.key == "statuses.needs_review" and "quota_exceeded" in str(err.value)


@pytest.mark.parametrize("mutate, key, suggestion", [
    (lambda d: d["statuses"].update(need_review=d["statuses"].pop("needs_review")), "statuses.need_review",
     "needs_review"),
    (lambda d: d.update(statuse=d.pop("statuses")), "statuse", "statuses"),
    (lambda d: d["round"].update(min_trainee=1000), "round.min_trainee", "min_trainees"),
    (lambda d: d["recommenders"][3].update(sender=["a@b.cn"]), "recommenders 第4项（枣庄市人力资源和社会保障局）.sender",
     "senders"),
    (lambda d: d["ocr"].update(min_confidance=0.5), "ocr.min_confidance", "min_confidence"),
    (lambda d: d["quotas"]["city"].update(rual=2), "quotas.city.rual", "rural"),
    (lambda d: d["mailbox"].update(colour="red"), "mailbox.colour", None),
])
def test_an_unknown_key_is_named_with_the_close_valid_one(mutate, key, suggestion):
    data = base()
    mutate(data)
    with pytest.raises(ConfigError) as err:
        from_mapping(data, ROOT, environ={})
    assert err.value.key == key
    if suggestion:
        assert f"did you mean '{suggestion}'" in str(err.value)
    else:
        assert "did you mean" not in str(err.value) and "mark_flag" in str(err.value)   # lists the valid keys


def test_cli_exits_2_on_a_misspelt_key_with_one_message(tmp_path):
    text = RULES.read_text(encoding="utf-8").replace("  needs_review:\n", "  need_review:\n")
    assert "need_review:" in text
    bad = tmp_path / "inbox_rules.yaml"
    bad.write_text(text, encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "pipeline", "--config", str(bad), "check"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert "statuses.need_review" in proc.stderr and "did you mean 'needs_review'" in proc.stderr


def test_passwords_are_never_shown():
    from pathlib import Path

    from pipeline.config import load

    root = Path(__file__).resolve().parents[2]
    cfg = load(root / "inbox_rules.yaml", environ={"INTAKE_MAILBOX_PASSWORD": "s3cret-imap",
                                                   "INTAKE_OUTBOX_PASSWORD": "s3cret-smtp"})
    assert cfg.mailbox_password == "s3cret-imap"
    assert "s3cret" not in repr(cfg) and "s3cret" not in str(cfg)


def _write(tmp_path, text: str):
    path = tmp_path / "inbox_rules.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_an_unquoted_date_is_shown_as_written_at_its_line(tmp_path):
    text = RULES.read_text(encoding="utf-8")
    text = text.replace('deadline: "2019-09-22T23:59:59+08:00"', "deadline: 2019-09-22")
    line = next(n for n, row in enumerate(text.splitlines(), start=1) if "deadline: 2019-09-22" in row)
    with pytest.raises(ConfigError) as err:
        load(_write(tmp_path, text), environ={})
    message = str(err.value)
    assert f"第{line}行 / line {line}" in message and "'2019-09-22'" in message and "datetime" not in message
    assert "带时区的日期时间" in message and "round.deadline" in message


def test_a_full_width_colon_is_named_at_its_own_line(tmp_path):
    text = RULES.read_text(encoding="utf-8").replace("min_trainees: 2000", "min_trainees：2000")
    line = next(n for n, row in enumerate(text.splitlines(), start=1) if "min_trainees：2000" in row)
    with pytest.raises(ConfigError) as err:
        load(_write(tmp_path, text), environ={})
    assert f"第{line}行" in str(err.value) and "全角冒号" in str(err.value) and "half-width colon" in str(err.value)


def test_a_recommender_is_named_by_its_name_and_counted_from_one(tmp_path):
    text = RULES.read_text(encoding="utf-8").replace(
        "{name: 青岛市人力资源和社会保障局, kind: city", "{name: 青岛市人力资源和社会保障局, kind: town")
    with pytest.raises(ConfigError) as err:
        load(_write(tmp_path, text), environ={})
    assert "recommenders 第2项（青岛市人力资源和社会保障局）.kind" in str(err.value)
    assert "'town'" in str(err.value) and "取值不在可选范围内" in str(err.value)


def test_two_recommenders_may_not_share_a_sender(tmp_path):
    text = RULES.read_text(encoding="utf-8").replace('senders: ["@qingdao.example.cn"]', 'senders: ["@jinan.example.cn"]')
    with pytest.raises(ConfigError) as err:
        load(_write(tmp_path, text), environ={})
    assert "青岛市人力资源和社会保障局" in str(err.value) and "@jinan.example.cn" in str(err.value)
    assert "同一发件地址登记在两个推荐单位下" in str(err.value)
