"""Make the OCR fixtures in this folder from the committed text PDF of a sample form, with real tools.

    python tests/data/scans/make_scans.py

Needs poppler-utils (pdftoppm), ImageMagick 6 (convert), img2pdf and a CJK font (Noto Sans CJK or
WenQuanYi); pypdf and reportlab from the venv. The outputs are committed; the tests never run this.

Beside each file, ``<file>.expected.json`` says what a reader must get from it (tests/test_forms.py):
every form here is the sample form 东营石油技术培训中心, so its fields are that unit's values in
tests/data/make_samples.py; the 佐证材料 is known from its first page, the only one read.
``--expected`` writes only these, without any of the tools.
"""
from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SAMPLES = HERE.parent / "samples"
FORM = SAMPLES / "form-dongying-petroleum-center.pdf"      # text layer, made by LibreOffice
FONTS = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
# Where the value 东营石油技术培训中心 sits on the form rendered at 150 dpi (pixels).
UNIT_NAME_AT = (460, 236)


def run(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def font() -> str:
    for f in FONTS:
        if Path(f).exists():
            return f
    sys.exit("no CJK font found: install fonts-noto-cjk or fonts-wqy-zenhei")


def page_png(src: Path, work: Path, dpi: int = 150, grey: bool = False) -> Path:
    run(["pdftoppm", "-r", str(dpi), "-f", "1", "-l", "1", "-singlefile", *(["-gray"] if grey else []),
         "-png", str(src), str(work / (src.stem + ("-g" if grey else "")))])
    return work / (src.stem + ("-g" if grey else "") + ".png")


def to_pdf(images: list[Path], out: Path) -> None:
    # The internal engine writes a fixed /ID, so a re-run gives the same bytes.
    run(["img2pdf", "--engine", "internal", "--nodate", "--producer", "", "-o", str(out), *map(str, images)])


def scanned(png: Path, out_jpg: Path, rotate: float, seed: int, colour: bool = False) -> Path:
    """A scanner's look: rotated on the glass, sensor noise, a little blur, JPEG."""
    with_colour = [] if colour else ["-colorspace", "Gray"]
    run(["convert", str(png), "-background", "white", "-rotate", str(rotate),
         "-seed", str(seed), "-attenuate", "0.2", "+noise", "Gaussian", "-blur", "0x0.5",
         *with_colour, "-strip", "-units", "PixelsPerInch", "-density", "150", "-quality", "60", str(out_jpg)])
    return out_jpg


def seal(png: Path, out: Path) -> Path:
    """A red 公章 stamped over the unit name: ring, star and the unit's name in red. Ink on toner:
    multiplied onto the page, so the black strokes under the red stay black, as on paper."""
    cx, cy = UNIT_NAME_AT
    r = 78
    stamp = out.with_name("stamp.png")
    run(["convert", str(png), "-fill", "white", "-colorize", "100", "-fill", "none", "-stroke", "rgb(215,30,35)",
         "-strokewidth", "6", "-draw", f"circle {cx},{cy} {cx + r},{cy}",
         "-fill", "rgb(215,30,35)", "-stroke", "none", "-font", font(), "-pointsize", "22",
         "-draw", f"text {cx - 66},{cy - 22} '东营石油技术培训'",
         "-pointsize", "34", "-draw", f"text {cx - 17},{cy + 20} '★'",
         "-pointsize", "18", "-draw", f"text {cx - 36},{cy + 52} '专用章'", str(stamp)])
    run(["convert", str(png), str(stamp), "-compose", "Multiply", "-composite", str(out)])
    return out


def exif_rotated(src: Path, out: Path) -> None:
    """Save with EXIF Orientation 6; ImageMagick 6 writes no EXIF block for a source that had none."""
    from PIL import Image

    with Image.open(src) as im:
        exif = Image.Exif()
        exif[0x0112] = 6   # RightTop: turn a quarter clockwise to view
        im.convert("L").save(out, "JPEG", quality=60, exif=exif)


def without_tounicode(src: Path, out: Path) -> None:
    """The same text PDF with its fonts' ToUnicode maps removed: the glyphs still print, but the text
    layer reads as (cid:N), as PDFs from some Chinese office suites and printers' drivers do."""
    import pypdf
    from pypdf.generic import NameObject

    reader = pypdf.PdfReader(src)
    writer = pypdf.PdfWriter(clone_from=reader)
    for page in writer.pages:
        fonts = page["/Resources"].get_object().get("/Font", {})
        for ref in fonts.values():
            f = ref.get_object()
            if NameObject("/ToUnicode") in f:
                del f[NameObject("/ToUnicode")]
    buf = io.BytesIO()
    writer.write(buf)
    out.write_bytes(buf.getvalue())


def evidence(work: Path, out: Path) -> None:
    """A three-page scanned 佐证材料: only its first page should ever be read."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(TTFont("CJK", "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", subfontIndex=0))
    src = work / "evidence.pdf"
    c = canvas.Canvas(str(src), pagesize=A4, invariant=1)
    for n, title in enumerate(("近三年培训情况统计", "师资队伍名单", "教学场地照片说明"), start=1):
        c.setFont("CJK", 20)
        c.drawString(150, 760, f"佐证材料{n}：{title}")
        c.setFont("CJK", 12)
        for i in range(12):
            c.drawString(80, 700 - i * 24, f"{2016 + i % 3}年 第{i + 1}期 专业技术人员知识更新培训 参训{120 + 7 * i}人")
        c.showPage()
    c.save()
    pages = work / "ev"
    pages.mkdir()
    run(["pdftoppm", "-r", "100", "-gray", "-png", str(src), str(pages / "p")])
    jpgs = [scanned(p, p.with_suffix(".jpg"), 0.4, 7) for p in sorted(pages.glob("p-*.png"))]
    to_pdf(jpgs, out)


FORMS = ("form-red-seal.pdf", "form-sideways.pdf", "form-upside-down-skewed.pdf", "form-photo-exif-rotated.jpg",
         "form-cid-text-layer.pdf")


def write_expected() -> None:
    sys.path.insert(0, str(HERE.parent / "forms"))
    sys.path.insert(0, str(HERE.parent))
    from make_forms import unit_fields
    from make_samples import UNITS

    wanted = {name: dict(kind="form", fields=unit_fields(UNITS["dongying-petroleum-center"])) for name in FORMS}
    wanted["evidence-three-pages.pdf"] = dict(kind="evidence", fields={}, pages=1)
    for name, want in wanted.items():
        text = json.dumps({"file": name, **want}, ensure_ascii=False, indent=2) + "\n"
        path = HERE / f"{name}.expected.json"
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print("wrote", path.name)


def main() -> None:
    write_expected()
    if "--expected" in sys.argv[1:]:
        return
    missing = [t for t in ("pdftoppm", "convert", "img2pdf") if not shutil.which(t)]
    if missing:
        sys.exit(f"missing tools: {', '.join(missing)}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        colour = page_png(FORM, work)
        grey = page_png(FORM, work, grey=True)

        # 1. A red seal over the unit name, scanned in colour.
        to_pdf([scanned(seal(colour, work / "seal.png"), work / "seal.jpg", 0.6, 1, colour=True)],
               HERE / "form-red-seal.pdf")
        # 2. Fed into the scanner sideways: the page image is turned a quarter clockwise.
        to_pdf([scanned(grey, work / "side.jpg", 90, 2)], HERE / "form-sideways.pdf")
        # 3. Upside down and 2.5° askew.
        to_pdf([scanned(grey, work / "upside.jpg", 182.5, 3)], HERE / "form-upside-down-skewed.pdf")
        # 4. A phone photo: pixels stored turned a quarter anticlockwise, EXIF Orientation 6 (RightTop)
        #    telling viewers to turn it back, as phones do.
        turned = work / "photo.png"
        run(["convert", str(grey), "-rotate", "-90", "-resize", "85%", str(turned)])
        exif_rotated(turned, HERE / "form-photo-exif-rotated.jpg")
        # 5. A text layer that reads as (cid:N).
        without_tounicode(FORM, HERE / "form-cid-text-layer.pdf")
        # 6. Three pages of scanned 佐证材料.
        evidence(work, HERE / "evidence-three-pages.pdf")
    for p in sorted(HERE.glob("*.pdf")) + sorted(HERE.glob("*.jpg")):
        print(f"{p.name}: {p.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
