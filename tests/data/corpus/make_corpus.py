"""Generate the MIME corpus: each case an .eml, byte for byte as a Chinese mail client sends it, next to
the JSON it must parse to and the outcome a whole pass must give it.

Run from the repository root:

    .venv/bin/python tests/data/corpus/make_corpus.py

Needs on PATH: ``zip`` (Info-ZIP), ``7z`` (p7zip-full) and LibreOffice's ``soffice`` (for the old
.doc). The documents inside are the committed samples of ``tests/data/samples/`` (made by
``tests/data/make_samples.py``): 山东省教育厅's 推荐函 and the 申请表 of 山东理工职业学院继续教育学院,
which together pass every check. Each case changes only the way they travel, so every flag in its
expectation comes from that way.

The expectations below are written from what each case puts in (names, bytes, quirks), never from
running the parser; ``sha256`` is that of the bytes put in.
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import urllib.parse
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parent
SAMPLES = ROOT / "tests" / "data" / "samples"

LETTER = (SAMPLES / "letter-edu.pdf").read_bytes()
FORM_DOCX = (SAMPLES / "form-sdut-continuing-edu.docx").read_bytes()
FORM_PDF = (SAMPLES / "form-sdut-continuing-edu.pdf").read_bytes()
APPLICANT = "山东理工职业学院继续教育学院"
SENDER = "rsc@edu.example.cn"
SUBJECT = "山东省教育厅继续教育基地申报"
DATE = "Thu, 12 Sep 2019 16:34:00 +0800"
DELIVERED = "2019-09-12T16:40:00+08:00"
CRLF = "\r\n"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def b64(data: bytes) -> str:
    return base64.encodebytes(data).decode().replace("\n", CRLF)


def word(text: str, charset: str) -> str:
    return f"=?{charset}?B?{base64.b64encode(text.encode(charset)).decode()}?="


def head(subject_line: str, from_line: str, mid: str, ctype: str, extra: str = "") -> str:
    return (f"Received: from mail.edu.example.cn by mx.shandong.cn; Thu, 12 Sep 2019 16:40:00 +0800{CRLF}"
            f"From: {from_line}{CRLF}To: ymrst@shandong.cn{CRLF}Subject: {subject_line}{CRLF}"
            f"Date: {DATE}{CRLF}Message-ID: <{mid}@mail.edu.example.cn>{CRLF}MIME-Version: 1.0{CRLF}"
            f"{extra}Content-Type: {ctype}{CRLF}{CRLF}")


def part(headers: list[str], body: str) -> str:
    return CRLF.join(headers) + CRLF + CRLF + body + CRLF


def multipart(boundary: str, parts: list[str], preamble: str = "This is a multi-part message in MIME format.") -> str:
    out = preamble + CRLF + CRLF if preamble else ""
    for p in parts:
        out += f"--{boundary}{CRLF}{p}"
    return out + f"--{boundary}--{CRLF}"


def text_part(text: str, charset: str = "gbk") -> str:
    return part([f'Content-Type: text/plain; charset="{charset}"', "Content-Transfer-Encoding: base64"],
                b64(text.encode(charset)))


def file_part(data: bytes, ctype_line: str, disposition: str | None = None, cte: str = "base64") -> str:
    headers = [f"Content-Type: {ctype_line}", f"Content-Transfer-Encoding: {cte}"]
    if disposition:
        headers.append(f"Content-Disposition: {disposition}")
    return part(headers, b64(data))


def att(filename: str, data: bytes, sniffed: str, problem: str | None = None) -> dict:
    return {"filename": filename, "sniffed": sniffed, "sha256": sha(data), "problem": problem}


def foxmail_part(name: str, data: bytes, ctype: str = "application/pdf") -> str:
    """Foxmail 7: RFC 2047 words (labelled gb2312) inside quoted name= and filename=."""
    w = word(name, "gbk").replace("?gbk?", "?gb2312?")
    return file_part(data, f'{ctype};{CRLF}\tname="{w}"', f'attachment;{CRLF}\tfilename="{w}"')


SUBJ_WORD = word(SUBJECT, "gbk")
CASES: dict[str, tuple[bytes, dict]] = {}


def case(name: str, raw: str | bytes, about: str, parse: dict, outcome: str = "submission",
         flags: list[str] | None = None, converters: list[str] | None = None) -> None:
    data = raw.encode("ascii") if isinstance(raw, str) else raw
    CASES[name] = (data, {"about": about, "delivered": DELIVERED,
                          "converters": converters if converters is not None else ["7z"],
                          "parse": parse, "pass": {"outcome": outcome, "flags": sorted(flags or [])}})


def expect(attachments: list[dict], *, subject: str = SUBJECT, sender: str = SENDER, sender_name: str = "",
           problems: list[str] | None = None, forwarded: list[dict] | None = None,
           body_contains: list[str] | None = None) -> dict:
    return {"subject": subject, "sender": sender, "sender_name": sender_name, "attachments": attachments,
            "problems": sorted(set(problems or [])), "forwarded": forwarded or [], "body_contains": body_contains or []}


# -- the cases ------------------------------------------------------------------------------------

def foxmail_gb2312_label() -> None:
    # 堃 喆 犇 镕 are in GBK/GB18030 but not GB2312; Foxmail labels the words gb2312 all the same.
    name = "人事处王堃喆"
    letter_name = "推荐函（经办人犇镕）.pdf"
    form_name = f"申请表-{APPLICANT}.docx"
    raw = head(word(SUBJECT, "gbk").replace("?gbk?", "?gb2312?"),
               f'"{word(name, "gbk").replace("?gbk?", "?gb2312?")}" <{SENDER}>', "corpus-01",
               'multipart/mixed;\r\n\tboundary="----=_NextPart_5D7A0B4A_0A1B2C3D_4E5F6A7B"',
               "X-Mailer: Foxmail 7.2.13.365[cn]\r\n")
    raw += multipart("----=_NextPart_5D7A0B4A_0A1B2C3D_4E5F6A7B", [
        text_part("您好！附件为推荐材料，经办人王堃喆，请查收。", "gbk"),
        foxmail_part(letter_name, LETTER),
        foxmail_part(form_name, FORM_DOCX, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ])
    case("01-foxmail-gb2312-label-gbk-characters", raw,
         "Foxmail: subject, From name and file names as =?gb2312?B?…?= words holding GBK-only 堃喆犇镕",
         expect([att(letter_name, LETTER, "pdf"), att(form_name, FORM_DOCX, "docx")], sender_name=name,
                body_contains=["王堃喆"]))


def outlook_rfc2231() -> None:
    letter_name = "推荐函.pdf"
    form_name = f"附件1：申请表-{APPLICANT}.docx"
    # Outlook cuts the value into segments of whole characters, each percent-encoded on its own.
    pieces = [urllib.parse.quote(form_name[i:i + 8].encode("utf-8"), safe="") for i in range(0, len(form_name), 8)]
    cont = ";\r\n".join(f" filename*{i}*={'utf-8' + chr(39) * 2 if i == 0 else ''}{p}" for i, p in enumerate(pieces))
    # Outlook splits a long subject into encoded words in the middle of a UTF-8 character.
    subj = SUBJECT.encode("utf-8")
    words = " ".join(f"=?utf-8?B?{base64.b64encode(subj[i:i + 20]).decode()}?=" for i in range(0, len(subj), 20))
    raw = head(words, f"=?utf-8?B?{base64.b64encode('山东省教育厅人事处'.encode()).decode()}?= <{SENDER}>",
               "corpus-02", 'multipart/mixed; boundary="_004_HK2PR0601MB1234_"',
               "Thread-Topic: =?utf-8?B?5bGx5Lic55yB?=\r\nX-MS-Has-Attach: yes\r\n")
    raw += multipart("_004_HK2PR0601MB1234_", [
        text_part("请查收附件。", "utf-8"),
        file_part(LETTER, f'application/pdf; name="{word(letter_name, "utf-8")}"',
                  f"attachment; filename*=utf-8''{urllib.parse.quote(letter_name)}"),
        file_part(FORM_DOCX, "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                  "attachment;\r\n" + cont),
    ], preamble="")
    case("02-outlook-rfc2231-continuations", raw,
         "Outlook: UTF-8 subject split mid-character across words; filename*0*=/filename*1*= continuations",
         expect([att(letter_name, LETTER, "pdf"), att(form_name, FORM_DOCX, "docx")], sender_name="山东省教育厅人事处"))


def qq_raw_8bit() -> bytes:
    form_name = f"申请表-{APPLICANT}.docx"
    h = head(SUBJECT, f'"山东省教育厅" <{SENDER}>', "corpus-03", 'multipart/mixed; boundary="----=_QQ_5D7A"',
             "X-QQ-mid: bizesmtp1t1568277240t\r\n")
    body = multipart("----=_QQ_5D7A", [
        # No charset at all and 8-bit GBK text: the mail client's local code page, sent as is.
        part(["Content-Type: text/plain", "Content-Transfer-Encoding: 8bit"], "材料已按通知要求整理，请查收。"),
        part(['Content-Type: application/pdf; name="推荐函.pdf"', "Content-Transfer-Encoding: base64",
              'Content-Disposition: attachment; filename="推荐函.pdf"'], b64(LETTER)),
        part([f'Content-Type: application/octet-stream; name="{form_name}"', "Content-Transfer-Encoding: base64",
              f'Content-Disposition: attachment; filename="{form_name}"'], b64(FORM_DOCX)),
    ])
    raw = (h + body).encode("gbk")
    case("03-raw-8bit-gbk-headers", raw,
         "Raw 8-bit GBK in Subject, From and file names with no charset label; a charset-less 8-bit GBK body",
         expect([att("推荐函.pdf", LETTER, "pdf"), att(form_name, FORM_DOCX, "docx")], sender_name="山东省教育厅",
                body_contains=["材料已按通知要求整理"], problems=["encoding_guessed"]),
         flags=["encoding_guessed"])


def netease_octet_stream() -> None:
    form_name = f"申请表-{APPLICANT}.pdf"
    raw = head(word(SUBJECT, "GBK"), f"{word('教育厅人事处', 'GBK')} <{SENDER}>", "corpus-04",
               'multipart/mixed; boundary="----=_Part_123456_654321.1568277240000"',
               "X-Mailer: Coremail Webmail Server Version XT5.0.10 build 20190524(85ac50ff)\r\n")
    raw += multipart("----=_Part_123456_654321.1568277240000", [
        text_part("请查收", "GBK"),
        # NetEase: octet-stream with only name= on Content-Type, no Content-Disposition at all.
        file_part(LETTER, f'application/octet-stream; name="{word("推荐函.pdf", "GBK")}"'),
        file_part(FORM_PDF, f'application/octet-stream; name="{word(form_name, "GBK")}"'),
    ], preamble="")
    case("04-netease-octet-stream-name-only", raw,
         "NetEase 163: PDFs labelled application/octet-stream, named only by name= on Content-Type",
         expect([att("推荐函.pdf", LETTER, "pdf"), att(form_name, FORM_PDF, "pdf")], sender_name="教育厅人事处"))


def coremail_html_only() -> None:
    html = ("<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=GBK\"><style>p{margin:0}</style>"
            "</head><body><div>您好，推荐函与申请表见附件。</div><div>佐证材料较大，从山东大学邮箱发来的超大附件：</div>"
            "<div style=\"border:1px solid #ccc\"><a href=\"https://mail.sdu.example.cn/coremail/common/bigattach/"
            "download.jsp?fid=A1B2C3\">佐证材料.rar</a> (215.3M, 2019年10月12日 16:30 到期)</div></body></html>")
    raw = head(SUBJ_WORD, f"<{SENDER}>", "corpus-05", 'multipart/mixed; boundary="----=_Part_7_1"',
               "X-Mailer: Coremail Webmail Server Version XT3.0.8\r\n")
    raw += multipart("----=_Part_7_1", [
        part(['Content-Type: text/html; charset=GBK', "Content-Transfer-Encoding: base64"], b64(html.encode("gbk"))),
        file_part(LETTER, f'application/pdf; name="{word("推荐函.pdf", "GBK")}"'),
        file_part(FORM_DOCX, f'application/vnd.openxmlformats-officedocument.wordprocessingml.document; '
                             f'name="{word(f"申请表-{APPLICANT}.docx", "GBK")}"'),
    ])
    case("05-coremail-html-only-cloud-link", raw,
         "Coremail webmail: an HTML-only GBK body with a 超大附件 link instead of the evidence",
         expect([att("推荐函.pdf", LETTER, "pdf"), att(f"申请表-{APPLICANT}.docx", FORM_DOCX, "docx")],
                body_contains=["超大附件", "bigattach/download.jsp?fid=A1B2C3"]),
         flags=["cloud_attachment_link"])


def qq_alternative_href() -> None:
    link = "https://mail.qq.com/cgi-bin/ftnExs_download?k=5e3d6c2a1b&t=exs_ftn_download&code=7f3a"
    plain = "您好，申请材料如附件。\n佐证材料.zip (186.2M) 下载\n"
    html = (f"<div>您好，申请材料如附件。</div><div><a href='{link}' target=_blank>佐证材料.zip</a>"
            f" (186.2M) <a href=\"{link}\">下载</a></div>")
    raw = head(SUBJ_WORD, f"\"QQ\" <{SENDER}>", "corpus-06", 'multipart/mixed; boundary="----=_NextPart_5D7A_QQ"',
               "X-Mailer: QQMail 2.x\r\n")
    raw += multipart("----=_NextPart_5D7A_QQ", [
        part(['Content-Type: multipart/alternative; boundary="----=_NextPart_ALT"'],
             multipart("----=_NextPart_ALT", [
                 part(['Content-Type: text/plain; charset="utf-8"', "Content-Transfer-Encoding: base64"],
                      b64(plain.encode())),
                 part(['Content-Type: text/html; charset="utf-8"', "Content-Transfer-Encoding: base64"],
                      b64(html.encode())),
             ], preamble="")),
        file_part(LETTER, f'application/pdf; name="{word("推荐函.pdf", "utf-8")}"',
                  f'attachment; filename="{word("推荐函.pdf", "utf-8")}"'),
        file_part(FORM_DOCX, "application/octet-stream; name=\"" + word(f"申请表-{APPLICANT}.docx", "utf-8") + '"',
                  "attachment; filename=\"" + word(f"申请表-{APPLICANT}.docx", "utf-8") + '"'),
    ])
    case("06-qq-cloud-link-in-href-only", raw,
         "QQ Mail: multipart/alternative where only the HTML's href says the evidence is a 超大附件 on QQ's server",
         expect([att("推荐函.pdf", LETTER, "pdf"), att(f"申请表-{APPLICANT}.docx", FORM_DOCX, "docx")],
                sender_name="QQ", body_contains=["佐证材料.zip (186.2M) 下载", link]),
         flags=["cloud_attachment_link"])


def inner_message(mid: str) -> str:
    inner = head(word(f"{APPLICANT}继续教育基地申报", "utf-8"), f"{word('继续教育学院', 'utf-8')} <jxjy@sdut.example.cn>",
                 mid, 'multipart/mixed; boundary="inner-boundary-1"')
    inner = inner.replace("Received: from mail.edu.example.cn by mx.shandong.cn; Thu, 12 Sep 2019 16:40:00 +0800\r\n",
                          "").replace("To: ymrst@shandong.cn", "To: rsc@edu.example.cn")
    return inner + multipart("inner-boundary-1", [
        text_part("请教育厅审核推荐。", "utf-8"),
        file_part(LETTER, f'application/pdf; name="{word("推荐函.pdf", "utf-8")}"', "attachment"),
        file_part(FORM_DOCX, "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                  f"attachment; filename*=utf-8''{urllib.parse.quote(f'申请表-{APPLICANT}.docx')}"),
    ], preamble="")


FORWARDED = [{"subject": f"{APPLICANT}继续教育基地申报", "sender": "jxjy@sdut.example.cn"}]


def forwarded_rfc822() -> None:
    raw = head(word(f"转发：{SUBJECT}", "utf-8"), f"<{SENDER}>", "corpus-07", 'multipart/mixed; boundary="outer-1"')
    raw += multipart("outer-1", [
        text_part("转发申报单位来信，请查收。", "utf-8"),
        part(["Content-Type: message/rfc822", 'Content-Disposition: attachment; filename="original.eml"'],
             inner_message("inner-07")),
    ])
    case("07-forwarded-message-rfc822", raw,
         "Outlook/Foxmail 'forward as attachment': message/rfc822 whose attachments are the submission; 转发： subject",
         expect([att("推荐函.pdf", LETTER, "pdf"), att(f"申请表-{APPLICANT}.docx", FORM_DOCX, "docx")],
                subject=f"转发：{SUBJECT}", forwarded=FORWARDED, body_contains=["转发申报单位来信", "请教育厅审核推荐"]))


def forwarded_eml_octet() -> None:
    raw = head(word(f"转发：{SUBJECT}", "GB2312"), f"<{SENDER}>", "corpus-08", 'multipart/mixed; boundary="qq-fwd"')
    raw += multipart("qq-fwd", [
        text_part("见附件中的原邮件。"),
        file_part(inner_message("inner-08").encode("ascii"),
                  f'application/octet-stream; name="{word("原邮件.eml", "GB2312")}"',
                  f'attachment; filename="{word("原邮件.eml", "GB2312")}"'),
    ])
    case("08-forwarded-eml-as-octet-stream", raw,
         "QQ Mail '作为附件转发': the original mail as an .eml labelled application/octet-stream",
         expect([att("推荐函.pdf", LETTER, "pdf"), att(f"申请表-{APPLICANT}.docx", FORM_DOCX, "docx")],
                subject=f"转发：{SUBJECT}", forwarded=FORWARDED, body_contains=["见附件中的原邮件"]))


def tnef_bytes(files: list[tuple[str, bytes]]) -> bytes:
    """A winmail.dat laid out per MS-OXTNEF: what Outlook sends in Rich Text mode."""
    def attribute(level: int, ident: int, data: bytes) -> bytes:
        return struct.pack("<BII", level, ident, len(data)) + data + struct.pack("<H", sum(data) & 0xFFFF)

    out = struct.pack("<IH", 0x223E9F78, 0x0A1B)
    out += attribute(1, 0x00089006, struct.pack("<I", 0x00010000))          # attTnefVersion
    out += attribute(1, 0x00069007, struct.pack("<II", 936, 0))             # attOemCodepage: GBK
    out += attribute(1, 0x00078008, b"IPM.Microsoft Mail.Note\0")           # attMessageClass
    for name, data in files:
        out += attribute(2, 0x00069002, struct.pack("<HIIHH", 1, 0xFFFFFFFF, 0, 0, 0))  # attAttachRendData
        out += attribute(2, 0x00018010, name.encode("gbk") + b"\0")         # attAttachTitle
        out += attribute(2, 0x0006800F, data)                                # attAttachData
    return out


def outlook_tnef() -> None:
    dat = tnef_bytes([("推荐函.pdf", LETTER), (f"申请表-{APPLICANT}.docx", FORM_DOCX)])
    raw = head(SUBJ_WORD, f"<{SENDER}>", "corpus-09", 'multipart/mixed; boundary="_000_TNEF_"',
               "X-MS-TNEF-Correlator: <00000000A1B2@edu.example.cn>\r\n")
    raw += multipart("_000_TNEF_", [
        text_part("请查收附件。", "gb2312"),
        file_part(dat, 'application/ms-tnef; name="winmail.dat"', 'attachment; filename="winmail.dat"'),
    ])
    case("09-outlook-winmail-dat", raw,
         "Outlook in Rich Text mode: every attachment wrapped in winmail.dat (TNEF)",
         expect([att("winmail.dat", dat, "tnef", "unreadable_attachment")]),
         flags=["unreadable_attachment"])


def run(cmd: list[str], cwd: Path | None = None, env: dict | None = None) -> None:
    subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def zip_gbk_nested(tmp: Path) -> None:
    tree = tmp / "gbk"
    files = {("申报材料", "推荐函.pdf"): LETTER, ("申报材料", "申请表", f"申请表-{APPLICANT}.docx"): FORM_DOCX}
    for parts, data in files.items():
        path = os.path.join(os.fsencode(tree), *(p.encode("gbk") for p in parts))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(data)
    # Info-ZIP in a non-UTF-8 locale stores the names' GBK bytes as they are, without flag bit 11:
    # what 360压缩, WinRAR and Windows' own Compressed Folders make on a Chinese Windows.
    env = dict(os.environ, LANG="C", LC_ALL="C")
    run(["zip", "-r", "-X", "-q", str(tmp / "gbk.zip"), "."], cwd=tree, env=env)
    data = (tmp / "gbk.zip").read_bytes()
    assert all(not i.flag_bits & 0x800 for i in zipfile.ZipFile(io.BytesIO(data)).infolist())
    raw = head(SUBJ_WORD, f"<{SENDER}>", "corpus-10", 'multipart/mixed; boundary="zip-1"')
    raw += multipart("zip-1", [text_part("材料见压缩包。"),
                               file_part(data, f'application/x-zip-compressed; name="{word("申报材料.zip", "gbk")}"',
                                         f'attachment; filename="{word("申报材料.zip", "gbk")}"')])
    case("10-zip-gbk-names-nested-folders", raw,
         "A ZIP from a Chinese Windows: GBK names without the UTF-8 flag, folders inside folders",
         expect([att("申报材料.zip/申报材料/申请表/申请表-" + APPLICANT + ".docx", FORM_DOCX, "docx"),
                 att("申报材料.zip/申报材料/推荐函.pdf", LETTER, "pdf")]))


def zip_bomb(tmp: Path) -> None:
    # 150 MB of zeros deflate to about 150 KB: a ratio near 1000:1, far over the limit of 100:1.
    buf = io.BytesIO()
    with (zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf,
          zf.open("佐证材料/会计报表.xls", "w") as member):
        chunk = bytes(1024 * 1024)
        for _ in range(150):
            member.write(chunk)
    data = buf.getvalue()
    raw = head(SUBJ_WORD, f"<{SENDER}>", "corpus-11", 'multipart/mixed; boundary="bomb-1"')
    raw += multipart("bomb-1", [text_part("请查收。"),
                                foxmail_part("推荐函.pdf", LETTER),
                                foxmail_part(f"申请表-{APPLICANT}.docx", FORM_DOCX, "application/msword"),
                                foxmail_part("佐证材料.zip", data, "application/zip")])
    case("11-zip-bomb-refused", raw,
         "A zip bomb among real documents: one entry of 150 MB at ~1000:1; refused unopened, kept, flagged",
         expect([att("推荐函.pdf", LETTER, "pdf"), att(f"申请表-{APPLICANT}.docx", FORM_DOCX, "docx"),
                 att("佐证材料.zip", data, "zip", "unreadable_attachment")]),
         flags=["unreadable_attachment"])


def zip_traversal() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        # Names meant to climb out of any folder they are unpacked into, or to start at the root.
        zf.writestr("../../../../etc/cron.d/推荐函.pdf", LETTER)
        zf.writestr("/tmp/intake-evil/申请表-" + APPLICANT + ".docx", FORM_DOCX)
        zf.writestr("C:\\Windows\\..\\..\\boot.ini", b"[boot loader]\r\n")
        zf.writestr("__MACOSX/._推荐函.pdf", b"\x00\x05\x16\x07")
    data = buf.getvalue()
    raw = head(SUBJ_WORD, f"<{SENDER}>", "corpus-12", 'multipart/mixed; boundary="trav-1"')
    raw += multipart("trav-1", [text_part("请查收。"), foxmail_part("材料.zip", data, "application/zip")])
    case("12-zip-path-traversal", raw,
         "Member names with ../, an absolute path and a Windows drive: sanitised, never paths; macOS junk left out",
         expect([att("材料.zip/etc/cron.d/推荐函.pdf", LETTER, "pdf"),
                 att(f"材料.zip/tmp/intake-evil/申请表-{APPLICANT}.docx", FORM_DOCX, "docx"),
                 att("材料.zip/Windows/boot.ini", b"[boot loader]\r\n", "unknown")]),
         flags=["unreadable_attachment"])


def zip_encrypted(tmp: Path) -> None:
    folder = tmp / "enc"
    folder.mkdir()
    (folder / "letter.pdf").write_bytes(LETTER)
    (folder / "evidence.pdf").write_bytes(FORM_PDF)
    run(["zip", "-X", "-q", str(tmp / "enc.zip"), "letter.pdf"], cwd=folder)
    run(["zip", "-X", "-q", "-P", "123456", str(tmp / "enc.zip"), "evidence.pdf"], cwd=folder)
    data = (tmp / "enc.zip").read_bytes()
    raw = head(SUBJ_WORD, f"<{SENDER}>", "corpus-13", 'multipart/mixed; boundary="enc-1"')
    raw += multipart("enc-1", [text_part("佐证材料压缩包密码另行告知。"),
                               foxmail_part(f"申请表-{APPLICANT}.docx", FORM_DOCX, "application/msword"),
                               foxmail_part("材料.zip", data, "application/zip")])
    case("13-zip-encrypted-member", raw,
         "A ZIP with one member under a password (zip -P): the open one is read, the archive is kept and flagged",
         expect([att(f"申请表-{APPLICANT}.docx", FORM_DOCX, "docx"), att("材料.zip/letter.pdf", LETTER, "pdf"),
                 att("材料.zip", data, "zip", "unreadable_attachment")]),
         flags=["unreadable_attachment"])


def seven_zip(tmp: Path) -> None:
    folder = tmp / "7z"
    folder.mkdir()
    (folder / "推荐函.pdf").write_bytes(LETTER)
    (folder / f"申请表-{APPLICANT}.docx").write_bytes(FORM_DOCX)
    run(["7z", "a", "-bd", "-y", "-mtm=off", "-mtc=off", "-mta=off", str(tmp / "a.7z"), "推荐函.pdf",
         f"申请表-{APPLICANT}.docx"], cwd=folder)
    data = (tmp / "a.7z").read_bytes()
    raw = head(SUBJ_WORD, f"<{SENDER}>", "corpus-14", 'multipart/mixed; boundary="7z-1"')
    raw += multipart("7z-1", [text_part("请查收。"), foxmail_part("申报材料.7z", data, "application/octet-stream")])
    case("14-7z-archive", raw, "A 7z archive: opened with the installed 7z, within the same limits",
         expect([att("申报材料.7z/推荐函.pdf", LETTER, "pdf"),
                 att(f"申报材料.7z/申请表-{APPLICANT}.docx", FORM_DOCX, "docx")]))


def old_doc(tmp: Path) -> bytes:
    src = tmp / f"申请表-{APPLICANT}.docx"
    src.write_bytes(FORM_DOCX)
    profile = (tmp / "lo-profile").as_uri()
    # Through ODT: LibreOffice 7.4 writing python-docx's table straight to .doc flattens it into one
    # paragraph; via its own format the table survives, as in a .doc saved by Word or WPS.
    for fmt, source, outdir in (("odt", src, "odt"), ("doc:MS Word 97", tmp / "odt" / f"申请表-{APPLICANT}.odt", "doc")):
        run(["soffice", f"-env:UserInstallation={profile}", "--headless", "--norestore", "--convert-to", fmt,
             "--outdir", str(tmp / outdir), str(source)])
    data = (tmp / "doc" / f"申请表-{APPLICANT}.doc").read_bytes()
    sys.path.insert(0, str(ROOT))
    from pipeline.mail.tools import doc_to_docx
    back = zipfile.ZipFile(io.BytesIO(doc_to_docx(data, shutil.which("soffice"), 180))).read("word/document.xml")
    assert back.count(b"<w:tbl>") >= 1, "the .doc lost the form's table"
    (HERE / "files").mkdir(exist_ok=True)
    (HERE / "files" / "form-sdut-continuing-edu.doc").write_bytes(data)
    raw = head(SUBJ_WORD, f"<{SENDER}>", "corpus-15", 'multipart/mixed; boundary="doc-1"')
    raw += multipart("doc-1", [text_part("请查收。"), foxmail_part("推荐函.pdf", LETTER),
                               foxmail_part(f"申请表-{APPLICANT}.doc", data, "application/msword")])
    # The pass here runs without soffice (the expectation must not depend on the machine): flagged, kept.
    case("15-old-word-doc-without-converter", raw,
         "An old Word .doc form; with converters [7z] only it is flagged unreadable and kept",
         expect([att("推荐函.pdf", LETTER, "pdf"),
                 att(f"申请表-{APPLICANT}.doc", data, "doc", "unreadable_attachment")]),
         flags=["unreadable_attachment"])
    return data


def missing_boundary() -> None:
    raw = head(SUBJ_WORD, f"<{SENDER}>", "corpus-16", "multipart/mixed")   # the boundary parameter is lost
    raw += multipart("----=_NextPart_000_0012_01D56961", [
        text_part("请查收。"), foxmail_part("推荐函.pdf", LETTER),
        foxmail_part(f"申请表-{APPLICANT}.docx", FORM_DOCX, "application/msword")])
    case("16-broken-missing-boundary", raw,
         "A multipart/mixed with no boundary parameter (a mail gateway dropped it): parts recovered, flagged",
         expect([att("推荐函.pdf", LETTER, "pdf"), att(f"申请表-{APPLICANT}.docx", FORM_DOCX, "docx")],
                problems=["low_confidence"]),
         flags=["low_confidence"])


def truncated() -> None:
    raw = head(SUBJ_WORD, f"<{SENDER}>", "corpus-17", 'multipart/mixed; boundary="trunc-1"')
    full = multipart("trunc-1", [text_part("请查收。"), foxmail_part("推荐函.pdf", LETTER),
                                 foxmail_part(f"申请表-{APPLICANT}.docx", FORM_DOCX, "application/msword")])
    start = full.index(b64(FORM_DOCX)[:40])
    cut = full[: start + 2001]   # the connection dropped in the middle of the form, in the middle of a line
    text = cut[start:].replace(CRLF, "")
    kept = text[: len(text) - len(text) % 4] if len(text) % 4 == 1 else text
    partial = base64.b64decode(kept + "=" * (-len(kept) % 4))
    case("17-broken-truncated-base64", raw + cut,
         "A message cut off in the middle of the form's base64: no closing boundary, a partial group",
         expect([att("推荐函.pdf", LETTER, "pdf"),
                 att(f"申请表-{APPLICANT}.docx", partial, "zip", "unreadable_attachment")],
                problems=["low_confidence"]),
         flags=["low_confidence", "unreadable_attachment"])


def bad_cte() -> None:
    raw = head(SUBJ_WORD, f"<{SENDER}>", "corpus-18", 'multipart/mixed; boundary="cte-1"',
               "X-Mailer: OA-Mail 3.1\r\n")
    raw += multipart("cte-1", [
        text_part("请查收。"),
        file_part(LETTER, f'application/pdf; name="{word("推荐函.pdf", "gbk")}"', cte="base-64"),
        foxmail_part(f"申请表-{APPLICANT}.docx", FORM_DOCX, "application/msword"),
    ])
    case("18-broken-transfer-encoding-label", raw,
         "An office system writes Content-Transfer-Encoding: base-64: decoded as base64, flagged for a look",
         expect([att("推荐函.pdf", LETTER, "pdf"), att(f"申请表-{APPLICANT}.docx", FORM_DOCX, "docx")],
                problems=["low_confidence"]),
         flags=["low_confidence"])


def undecodable_name() -> None:
    raw = head(SUBJ_WORD, f"<{SENDER}>", "corpus-19", 'multipart/mixed; boundary="ffd-1"')
    raw += multipart("ffd-1", [
        text_part("请查收。"),
        # Bytes that are neither UTF-8 nor GB18030 behind a gbk label: no charset gives the name back.
        file_part(LETTER, "application/pdf", "attachment; filename*=gbk''%CD%C6%FF%FE.pdf"),
        foxmail_part(f"申请表-{APPLICANT}.docx", FORM_DOCX, "application/msword"),
    ])
    case("19-undecodable-file-name", raw,
         "A file name no charset decodes: U+FFFD left in it is a finding, not silence",
         expect([att("推\ufffd\ufffd.pdf", LETTER, "pdf"), att(f"申请表-{APPLICANT}.docx", FORM_DOCX, "docx")],
                problems=["low_confidence"]),
         flags=["low_confidence"])


def main() -> None:
    missing = [t for t in ("zip", "7z", "soffice") if not shutil.which(t)]
    if missing:
        sys.exit(f"make_corpus.py needs on PATH: {', '.join(missing)}")
    with tempfile.TemporaryDirectory(prefix="intake-corpus-") as tmp:
        t = Path(tmp)
        foxmail_gb2312_label()
        outlook_rfc2231()
        qq_raw_8bit()
        netease_octet_stream()
        coremail_html_only()
        qq_alternative_href()
        forwarded_rfc822()
        forwarded_eml_octet()
        outlook_tnef()
        zip_gbk_nested(t)
        zip_bomb(t)
        zip_traversal()
        zip_encrypted(t)
        seven_zip(t)
        old_doc(t)
        missing_boundary()
        truncated()
        bad_cte()
        undecodable_name()
    for old in HERE.glob("*.eml"):
        old.unlink()
    for name, (raw, expected) in CASES.items():
        (HERE / f"{name}.eml").write_bytes(raw)
        (HERE / f"{name}.json").write_text(json.dumps(expected, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {len(CASES)} cases to {HERE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
