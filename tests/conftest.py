"""Shared fixtures: the repository's own inbox_rules.yaml, pointed at a temporary mailbox and output."""
from __future__ import annotations

from pathlib import Path

import pytest

from pipeline import config as config_mod
from pipeline.demo import delivery_time, samples
from pipeline.mail.maildir import deliver, ensure_maildir

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "inbox_rules.yaml"


def make_environ(root: Path, pdf: bool = False) -> dict[str, str]:
    """Environment overrides that keep every write under root. Without pdf, the repository's rules with
    `outputs.pdf: false`: LibreOffice would take most of a small pass's time in tests that do not look at
    its PDF copies (tests/integration/test_pass_maildir.py does, and the office tests)."""
    rules = RULES
    if not pdf:
        rules = root / "inbox_rules.yaml"
        root.mkdir(parents=True, exist_ok=True)
        text = RULES.read_text(encoding="utf-8")
        for old, new in (("\n  pdf: true\n", "\n  pdf: false\n"),
                         ('\ntemplates_dir: "./templates"\n', f'\ntemplates_dir: "{ROOT / "templates"}"\n')):
            assert old in text, f"inbox_rules.yaml no longer says {old.strip()!r}: tests/conftest.py needs a look"
            text = text.replace(old, new)
        rules.write_text(text, encoding="utf-8")
    return {
        "INTAKE_CONFIG": str(rules),
        "INTAKE_MAILBOX_URL": f"maildir:{root / 'mail' / 'inbox'}",
        "INTAKE_OUTBOX_URL": f"maildir:{root / 'mail' / 'sent'}",
        "INTAKE_OUTPUT_DIR": str(root / "output"),
    }


def make_config(environ: dict[str, str]):
    cfg = config_mod.load(environ=environ)
    ensure_maildir(cfg.mailbox.path)
    return cfg


@pytest.fixture
def environ(tmp_path: Path) -> dict[str, str]:
    return make_environ(tmp_path)


@pytest.fixture
def config(environ):
    return make_config(environ)


def deliver_samples(cfg, names=None) -> list[str]:
    """Deliver the sample .eml files (all, or those named) with their delivery times."""
    delivered = []
    for name, raw in samples():
        if names is None or name in names:
            deliver(cfg.mailbox.path, raw, key="sample-" + name.removesuffix(".eml"),
                    received_at=delivery_time(raw))
            delivered.append(name)
    return delivered
