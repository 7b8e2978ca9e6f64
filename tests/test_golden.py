"""Each sample .eml (pipeline/samples/) against the export it must produce (tests/data/golden/).

After a deliberate change, rewrite the expectations with INTAKE_UPDATE_GOLDEN=1 and review the diff.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import deliver_samples

from pipeline.demo import samples
from pipeline.flow import run_pass
from pipeline.outputs.export import export
from pipeline.store import Ledger

GOLDEN = Path(__file__).parent / "data" / "golden"
NAMES = [name for name, _ in samples()]


def test_every_sample_has_a_golden_file():
    assert NAMES, "no samples packaged"
    if not os.environ.get("INTAKE_UPDATE_GOLDEN"):
        assert sorted(p.stem for p in GOLDEN.glob("*.json")) == sorted(n.removesuffix(".eml") for n in NAMES)


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.ocr) if "scanned" in n else n for n in NAMES])
def test_sample_export(name, config):
    deliver_samples(config, {name})
    run_pass(config)
    with Ledger(config.ledger_path) as ledger:
        got = export(ledger, config.round.name)
    golden = GOLDEN / (name.removesuffix(".eml") + ".json")
    if os.environ.get("INTAKE_UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(json.dumps(got, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    want = json.loads(golden.read_text(encoding="utf-8"))
    # OCR confidences and boxes move in the last digits with the CPU's vector instructions: compared
    # within 0.02 and within 2 points, everything else exactly.
    for app_got, app_want in zip(got["applications"], want["applications"]):
        assert app_got.pop("field_confidence") == pytest.approx(app_want.pop("field_confidence"), abs=0.02)
        for key, seen in app_got["field_evidence"].items():
            wanted = app_want["field_evidence"].get(key, {})
            if seen["method"] == "ocr" and wanted.get("method") == "ocr":
                assert seen.pop("confidence") == pytest.approx(wanted.pop("confidence"), abs=0.02), key
                for box in ("bbox", "label_bbox"):
                    assert seen.pop(box) == pytest.approx(wanted.pop(box), abs=2.0), (key, box)
    assert got == want
