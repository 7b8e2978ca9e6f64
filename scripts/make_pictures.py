"""The README's pictures of the printouts: the first page of each, as LibreOffice prints it.

    make pictures         # = make demo, intake review, then this script on the demo's round

    scripts/make_pictures.py [ROUND_FOLDER [OUT]]   # default: the round under output/, docs/pictures

Needs LibreOffice (Writer and Calc), CJK fonts and pdftoppm (poppler-utils); neither `make demo` nor
`make test` needs this.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.outputs.pdf import to_pdf  # noqa: E402 - the project's own module, from a script run by path

# picture name → the file of the round folder it shows (a glob: the first match)
SHOWN = {
    "province": "附件2_申报汇总表_全省.docx",
    "receipt": "*/受理回执/受理回执_*.docx",
    "statistics": "统计.xlsx",
    "review": "待处理.xlsx",
}


def main(argv: list[str]) -> int:
    rounds = sorted(p.parent for p in (ROOT / "output").glob("*/统计.xlsx"))
    if len(argv) > 3 or (len(argv) == 1 and len(rounds) != 1):
        print(__doc__)
        return 2
    round_dir = Path(argv[1]) if len(argv) > 1 else rounds[0]
    out = Path(argv[2]) if len(argv) > 2 else ROOT / "docs" / "pictures"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        copies = []
        for name, pattern in SHOWN.items():
            source = next(iter(sorted(round_dir.glob(pattern))), None)
            if source is None:
                print(f"{round_dir} has no {pattern}", file=sys.stderr)
                return 1
            copy = Path(tmp) / f"{name}{source.suffix}"
            shutil.copyfile(source, copy)
            copies.append(copy)
        pdfs = to_pdf(copies, fontconfig=ROOT / "templates" / "fonts.conf")
        for pdf in pdfs:
            target = out / pdf.stem
            subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", str(pdf),
                            str(target)], check=True)
            print(target.with_suffix(".png"))
    return 0 if len(pdfs) == len(SHOWN) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
