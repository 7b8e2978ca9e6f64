"""inbox_rules.yaml: the office's file loads into typed objects; a wrong one names the key."""
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from pipeline.config import ConfigError, from_mapping, load
from pipeline.model import RecommenderKind, Track

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
    (lambda d: d["recommenders"][2].update(kind="county"), "recommenders[2].kind"),
    (lambda d: d["recommenders"][0].update(senders="rsj@jinan"), "recommenders[0].senders"),
    (lambda d: d["recommenders"].append(dict(d["recommenders"][0])), "recommenders[21].name"),
    (lambda d: d["quotas"]["city"].update(total="三"), "quotas.city.total"),
    (lambda d: d["quotas"].pop("enterprise"), "quotas.enterprise"),
    (lambda d: d["statuses"].update(rejected=["too_late"]), "statuses.rejected"),
    (lambda d: d["lists"].update(audit="全部"), "lists.audit"),
])
def test_a_wrong_file_names_the_key(mutate, key):
    data = base()
    mutate(data)
    with pytest.raises(ConfigError) as err:
        from_mapping(data, ROOT, environ={})
    assert err.value.key == key
    assert key in str(err.value)


def test_broken_yaml_and_missing_file(tmp_path):
    bad = tmp_path / "inbox_rules.yaml"
    bad.write_text("round: {name: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="valid YAML"):
        load(bad, environ={})
    with pytest.raises(ConfigError, match="existing inbox_rules.yaml"):
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
