"""Decoding what Chinese mail clients actually send."""
import base64
from datetime import UTC, datetime

import pytest

from pipeline.mail.mime import clean_header, decode, decode_header_value, parse
from pipeline.mail.smtp import smtp_address
from pipeline.model import Flag

WHEN = datetime(2019, 9, 10, 2, 15, tzinfo=UTC)
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def b64(text: str, charset: str) -> str:
    return base64.b64encode(text.encode(charset)).decode()


def test_gb2312_label_holding_gbk_only_characters():
    # 镕 and 喆 are not in GB2312; Foxmail and Outlook still label such text gb2312.
    word = f"=?gb2312?B?{b64('朱镕喆培训中心继续教育基地申报', 'gbk')}?="
    assert decode_header_value(word) == "朱镕喆培训中心继续教育基地申报"


def test_raw_eight_bit_gbk_subject_and_utf8_words():
    raw = ("From: =?utf-8?B?" + b64("济南市人社局", "utf-8") + "?= <rsj@jinan.example.cn>\r\n").encode()
    raw += "Subject: 济南市继续教育基地申报\r\n".encode("gbk")
    raw += b"Message-ID: <a@b>\r\n\r\nbody\r\n"
    msg = parse(raw, WHEN)
    assert msg.subject == "济南市继续教育基地申报"
    assert msg.sender == "rsj@jinan.example.cn" and msg.sender_name == "济南市人社局"
    assert msg.received_at == WHEN


def _multipart(part_headers: str, payload: bytes = PDF) -> bytes:
    return (
        "From: a@b.cn\r\nSubject: x\r\nMessage-ID: <m@b.cn>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="BB"\r\n\r\n'
        "--BB\r\nContent-Type: text/plain; charset=gbk\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + b64("请查收附件。", "gbk") + "\r\n--BB\r\n" + part_headers
        + "Content-Transfer-Encoding: base64\r\n\r\n" + base64.b64encode(payload).decode() + "\r\n--BB--\r\n"
    ).encode()


def test_rfc2231_filename_with_continuations():
    headers = ("Content-Type: application/pdf\r\nContent-Disposition: attachment;\r\n"
               " filename*0*=utf-8''%E7%94%B3%E8%AF%B7%E8%A1%A8;\r\n filename*1*=%2Epdf\r\n")
    msg = parse(_multipart(headers), WHEN)
    assert [a.filename for a in msg.attachments] == ["申请表.pdf"]
    assert msg.body == "请查收附件。"


def test_rfc2047_inside_a_quoted_name_without_disposition_and_octet_stream_sniffed():
    name = f"=?gbk?B?{b64('推荐函.pdf', 'gbk')}?="
    headers = f'Content-Type: application/octet-stream; name="{name}"\r\n'
    (att,) = parse(_multipart(headers), WHEN).attachments
    assert att.filename == "推荐函.pdf"
    assert att.content_type == "application/octet-stream" and att.sniffed == "pdf"


def test_undecodable_name_is_a_finding_not_silence():
    headers = "Content-Type: application/pdf\r\nContent-Disposition: attachment; filename*=utf-8''%FF%FE.pdf\r\n"
    msg = parse(_multipart(headers), WHEN)
    # Not UTF-8 as declared: read another way, and said so (or, failing any reading, 无法解码).
    assert msg.attachments and any("附件名称" in f.detail and ("无法解码" in f.detail or "与内容不符" in f.detail)
                                   for f in msg.problems)


def test_missing_message_id_gets_a_stable_stand_in():
    raw = b"From: a@b.cn\r\nSubject: x\r\n\r\nhi\r\n"
    assert parse(raw, WHEN).message_id == parse(raw, WHEN).message_id.strip()
    assert parse(raw, WHEN).message_id.startswith("<sha256-")


# -- hardening: every encoding seen in Chinese mail, broken MIME, bodies, forwards --------------------

def test_gb2312_label_with_all_four_gbk_only_characters_in_subject_name_and_file_name():
    label = lambda text: f"=?gb2312?B?{b64(text, 'gbk')}?="  # noqa: E731
    raw = (f"From: {label('王堃')} <a@b.cn>\r\nSubject: {label('犇镕喆堃培训中心继续教育基地申报')}\r\n"
           "Message-ID: <m@b.cn>\r\n\r\n").encode()
    msg = parse(raw, WHEN)
    assert msg.subject == "犇镕喆堃培训中心继续教育基地申报" and msg.sender_name == "王堃"
    headers = f'Content-Type: application/pdf; name="{label("犇堃.pdf")}"\r\n'
    assert [a.filename for a in parse(_multipart(headers), WHEN).attachments] == ["犇堃.pdf"]


def test_utf8_subject_split_inside_a_character_across_encoded_words():
    data = "济南市继续教育基地申报".encode()
    words = " ".join(f"=?utf-8?B?{base64.b64encode(data[i:i + 7]).decode()}?=" for i in range(0, len(data), 7))
    assert decode_header_value(words) == "济南市继续教育基地申报"


def test_raw_eight_bit_gbk_file_name_and_charsetless_gbk_body():
    raw = ("From: a@b.cn\r\nSubject: x\r\nMessage-ID: <m@b.cn>\r\n"
           'Content-Type: multipart/mixed; boundary="BB"\r\n\r\n'
           "--BB\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: 8bit\r\n\r\n请查收附件。\r\n"
           '--BB\r\nContent-Type: application/pdf; name="推荐函.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
           + base64.b64encode(PDF).decode() + "\r\n--BB--\r\n").encode("gbk")
    msg = parse(raw, WHEN)
    assert [a.filename for a in msg.attachments] == ["推荐函.pdf"]
    assert msg.body == "请查收附件。"
    # Read right, and never silently: each undeclared reading is a finding that names what it chose.
    assert {p.flag for p in msg.problems} == {Flag.ENCODING_GUESSED}
    assert sorted(p.detail for p in msg.problems) == sorted(["附件名称的文字编码未声明，已按 GB18030（简体中文） 识别，请核对",
                                                            "邮件正文的文字编码未声明，已按 GB18030（简体中文） 识别，请核对"])


def test_replacement_characters_left_anywhere_are_findings():
    raw = b"From: \xff\xfe <a@b.cn>\r\nSubject: \xff\xfe\r\nMessage-ID: <m@b.cn>\r\n\r\n\xff\xfe\r\n"
    details = [p.detail for p in parse(raw, WHEN).problems]
    assert any("邮件标题" in d for d in details) and any("发件人名称" in d for d in details)
    assert any("邮件正文" in d for d in details)


def _parts(boundary: str) -> str:
    return (f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n请查收\r\n"
            f"--{boundary}\r\nContent-Type: application/pdf; name=a.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            + base64.b64encode(PDF).decode() + f"\r\n--{boundary}--\r\n")


def test_missing_and_wrong_boundaries_are_recovered_and_reported():
    for ctype in ("multipart/mixed", 'multipart/mixed; boundary="not-the-one"'):
        raw = f"From: a@b.cn\r\nSubject: x\r\nMessage-ID: <m@b.cn>\r\nContent-Type: {ctype}\r\n\r\n" + _parts("=_real")
        msg = parse(raw.encode(), WHEN)
        assert [(a.filename, a.data) for a in msg.attachments] == [("a.pdf", PDF)]
        assert msg.body == "请查收"
        assert any("MIME" in p.detail for p in msg.problems)


def test_truncated_base64_and_missing_close_are_findings_not_crashes():
    whole = _parts("BB").encode()
    raw = b"From: a@b.cn\r\nSubject: x\r\nContent-Type: multipart/mixed; boundary=BB\r\n\r\n" + whole[:-25]
    msg = parse(raw, WHEN)
    assert msg.attachments and msg.attachments[0].data == PDF[: len(msg.attachments[0].data)]
    assert len(msg.attachments[0].data) < len(PDF)
    details = " ".join(p.detail for p in msg.problems)
    assert "截断" in details and "base64" in details


def test_unknown_transfer_encoding_is_guessed_and_flagged():
    headers = "Content-Type: application/pdf; name=a.pdf\r\nContent-Transfer-Encoding: base 64\r\n"
    raw = _multipart(headers).replace(b"Content-Transfer-Encoding: base 64\r\nContent-Transfer-Encoding: base64",
                                      b"Content-Transfer-Encoding: base 64")
    msg = parse(raw, WHEN)
    assert msg.attachments[0].data == PDF and msg.attachments[0].sniffed == "pdf"
    assert any("传输编码“base 64”不规范" in p.detail for p in msg.problems)


def test_every_prefix_of_a_real_message_parses_without_an_exception():
    raw = _multipart('Content-Type: application/zip; name="a.zip"\r\n', b"PK\x03\x04" + PDF * 20)
    for cut in range(0, len(raw), 7):
        parse(raw[:cut], WHEN)  # nothing to assert but that it returns: the stage must never crash


def test_html_only_body_keeps_links_in_any_quoting():
    html = ("<html><head><style>a{}</style></head><body><p>超大附件：</p>"
            "<a href='https://mail.163.com/large-attachment-download/index.html?p=X1'>申报材料.zip</a>"
            "<a href=https://pan.example.cn/s/abc>网盘</a><a href=\"mailto:x@y.cn\">x</a></body></html>")
    raw = ("From: a@b.cn\r\nSubject: x\r\nMessage-ID: <m@b.cn>\r\nContent-Type: text/html; charset=gbk\r\n"
           "Content-Transfer-Encoding: base64\r\n\r\n" + b64(html, "gbk") + "\r\n").encode()
    body = parse(raw, WHEN).body
    assert "超大附件" in body and "申报材料.zip" in body and "a{}" not in body
    assert "https://mail.163.com/large-attachment-download/index.html?p=X1" in body
    assert "https://pan.example.cn/s/abc" in body and "mailto" not in body


def test_alternative_body_is_the_plain_text_once_plus_the_html_only_links():
    link = "https://mail.qq.com/cgi-bin/ftnExs_download?k=1"
    raw = ("From: a@b.cn\r\nSubject: x\r\nMessage-ID: <m@b.cn>\r\nContent-Type: multipart/alternative; boundary=A\r\n\r\n"
           "--A\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n材料见下载\r\n"
           f"--A\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<div>材料见<a href=\"{link}\">下载</a></div>\r\n--A--\r\n")
    assert parse(raw.encode(), WHEN).body == f"材料见下载\n{link}"


def _forward(inner: bytes, depth: int) -> bytes:
    for i in range(depth):
        inner = (f"From: f{i}@b.cn\r\nSubject: =?utf-8?B?{b64(f'转发：第{i}层', 'utf-8')}?=\r\nMessage-ID: <f{i}@b.cn>\r\n"
                 f'Content-Type: multipart/mixed; boundary="F{i}"\r\n\r\n--F{i}\r\nContent-Type: message/rfc822\r\n\r\n'
                 ).encode() + inner + f"\r\n--F{i}--\r\n".encode()
    return inner


def test_forwarded_messages_give_their_attachments_and_are_noted():
    inner = _multipart(f'Content-Type: application/pdf; name="=?utf-8?B?{b64("申请表.pdf", "utf-8")}?="\r\n')
    msg = parse(_forward(inner, 1), WHEN)
    assert msg.subject == "转发：第0层"
    assert [(a.filename, a.data, a.sniffed) for a in msg.attachments] == [("申请表.pdf", PDF, "pdf")]
    assert [(f.sender, f.subject, f.message_id) for f in msg.forwarded] == [("a@b.cn", "x", "<m@b.cn>")]
    assert "请查收附件。" in msg.body


def test_forwards_deeper_than_the_limit_are_kept_unopened_with_a_reason():
    from pipeline.config import AttachmentLimits
    msg = parse(_forward(_multipart("Content-Type: application/pdf; name=a.pdf\r\n"), 4), WHEN,
                AttachmentLimits(max_depth=2))
    (kept,) = msg.attachments
    assert kept.sniffed == "eml" and kept.problem and "超过2层" in kept.problem.detail
    assert len(msg.forwarded) == 2


def test_base64_encoded_message_rfc822_part_is_decoded_first():
    inner = _multipart("Content-Type: application/pdf; name=a.pdf\r\n")
    raw = ("From: a@b.cn\r\nSubject: fw\r\nMessage-ID: <o@b.cn>\r\nContent-Type: multipart/mixed; boundary=O\r\n\r\n"
           "--O\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n"
           + base64.encodebytes(inner).decode() + "--O--\r\n").encode()
    msg = parse(raw, WHEN)
    assert [(a.filename, a.data) for a in msg.attachments] == [("a.pdf", PDF)]
    assert msg.forwarded[0].message_id == "<m@b.cn>"


def test_same_names_do_not_overwrite_each_other_and_client_paths_are_cut():
    raw = ("From: a@b.cn\r\nSubject: x\r\nMessage-ID: <m@b.cn>\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n"
           + "".join(f"--B\r\nContent-Type: application/pdf; name=\"{n}\"\r\n\r\n%PDF-1.4 {i}\r\n"
                     for i, n in enumerate(["C:\\\\Documents\\\\申请表.pdf", "申请表.pdf", "申请表.PDF"]))
           + "--B--\r\n").encode()
    assert [a.filename for a in parse(raw, WHEN).attachments] == ["申请表.pdf", "申请表 (2).pdf", "申请表 (3).PDF"]


# -- valid text only: every header one clean line, whatever the sender's bytes ------------------------

def _word(text: str) -> str:
    return f"=?utf-8?B?{b64(text, 'utf-8')}?="


@pytest.mark.parametrize("separator", ["\r", "\n", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"])
def test_a_line_separator_in_an_encoded_subject_becomes_a_space(separator):
    raw = f"From: a@b.cn\r\nSubject: {_word('济南市' + separator + '继续教育基地申报')}\r\nMessage-ID: <m@b.cn>\r\n\r\nx"
    assert parse(raw.encode(), WHEN).subject == "济南市 继续教育基地申报"


def test_an_encoded_cr_in_a_display_name_and_a_separator_in_a_message_id_are_cleaned():
    raw = ("From: =?utf-8?Q?Zhang=0D=0ABcc:_x@evil.example?= <a@b.cn>\r\nSubject: x\r\n"
           f"Message-ID: {_word('<a' + chr(0x2028) + 'b@c.cn>')}\r\n\r\nx").encode()
    msg = parse(raw, WHEN)
    assert msg.sender_name == "Zhang Bcc: x@evil.example" and msg.sender == "a@b.cn"
    assert msg.message_id == "<a b@c.cn>"


def test_controls_and_bidi_marks_leave_headers_and_file_names():
    assert clean_header("申请表\u202egpj.exe\x1b[31m\x00") == "申请表gpj.exe[31m"
    assert clean_header("a\udc80b") == "a\ufffdb"


@pytest.mark.parametrize("sender", ["jdöe@mächine.example", "zhangsan@人社厅.中国"])
def test_raw_utf8_addresses_decode_as_utf8(sender):
    raw = f"From: 张三 <{sender}>\r\nSubject: x\r\nMessage-ID: <m@b.cn>\r\n\r\nx".encode()
    msg = parse(raw, WHEN)
    assert msg.sender == sender and msg.sender_name == "张三"
    assert not msg.problems   # UTF-8 is RFC 6532's own: no guess


def test_internationalised_addresses_for_smtp():
    assert smtp_address("zhangsan@人社厅.中国") == "zhangsan@xn--gmqs0jz14b.xn--fiqs8s"
    assert smtp_address("rsj@jinan.example.cn") == "rsj@jinan.example.cn"
    assert smtp_address("jdöe@mächine.example") is None      # a non-ASCII local part needs SMTPUTF8
    assert smtp_address("no-at-sign") is None


def test_two_bare_addresses_give_the_first_and_a_finding():
    msg = parse(b"From: a@x.cn b@x.cn\r\nSubject: x\r\nMessage-ID: <m@b.cn>\r\n\r\nx", WHEN)
    assert msg.sender == "a@x.cn"
    assert [p.detail for p in msg.problems] == ["发件人地址格式不规范（a@x.cn b@x.cn），已取第一个地址 a@x.cn"]


def test_a_from_with_no_address_is_a_finding():
    msg = parse(b"From: nobody at all\r\nSubject: x\r\nMessage-ID: <m@b.cn>\r\n\r\nx", WHEN)
    assert msg.sender == "" and any("发件人地址无法识别" in p.detail for p in msg.problems)


# -- charset guesses: better, and never silent ---------------------------------------------------------

def test_a_latin1_subject_with_no_charset_stays_latin():
    raw = b"From: a@b.cn\r\nSubject: Forma\xe7\xe3o de professores\r\nMessage-ID: <m@b.cn>\r\n\r\nx"
    msg = parse(raw, WHEN)
    assert msg.subject == "Formação de professores"
    assert [(p.flag, p.detail) for p in msg.problems] == [
        (Flag.ENCODING_GUESSED, "邮件标题的文字编码未声明，已按 Windows-1252（西文） 识别，请核对")]


def test_a_raw_gbk_subject_still_reads_as_chinese_and_says_it_was_guessed():
    raw = b"From: a@b.cn\r\nSubject: " + "济南市继续教育基地申报".encode("gbk") + b"\r\nMessage-ID: <m@b.cn>\r\n\r\nx"
    msg = parse(raw, WHEN)
    assert msg.subject == "济南市继续教育基地申报"
    assert [p.flag for p in msg.problems] == [Flag.ENCODING_GUESSED] and "GB18030" in msg.problems[0].detail


def test_an_x_unknown_body_that_is_utf8_is_read_as_utf8():
    raw = ("From: a@b.cn\r\nSubject: x\r\nMessage-ID: <m@b.cn>\r\nContent-Type: text/plain; charset=x-unknown\r\n"
           "Content-Transfer-Encoding: 8bit\r\n\r\n请查收附件，谢谢。\r\n").encode()
    msg = parse(raw, WHEN)
    assert msg.body == "请查收附件，谢谢。" and not msg.problems


def test_a_wrong_iso_2022_jp_label_on_a_gbk_file_name_loses_no_letter():
    name = "".join(f"%{b:02X}" for b in "申请表-济南培训中心.pdf".encode("gbk"))
    headers = f"Content-Type: application/pdf\r\nContent-Disposition: attachment; filename*=iso-2022-jp''{name}\r\n"
    msg = parse(_multipart(headers), WHEN)
    assert [a.filename for a in msg.attachments] == ["申请表-济南培训中心.pdf"]
    assert any(p.flag is Flag.ENCODING_GUESSED and "iso-2022-jp" in p.detail for p in msg.problems)


def test_the_guess_prefers_simplified_chinese_when_the_bytes_fit_several():
    # Three characters of GBK are valid Big5 too; a mainland office reads them as GBK.
    assert decode("申请表".encode("gbk"), None).text == "申请表"
    assert decode("申请表".encode("gbk"), None).guessed == "gb18030"
    assert decode("臺北市繼續教育".encode("big5"), None).text == "臺北市繼續教育"
    assert decode("济南".encode(), None).guessed == ""


# -- broken structure -----------------------------------------------------------------------------------

def test_a_byte_order_mark_before_the_headers_loses_nothing():
    raw = b"\xef\xbb\xbf" + "From: a@b.cn\r\nSubject: 济南市继续教育基地申报\r\nMessage-ID: <m@b.cn>\r\n\r\nx".encode()
    msg = parse(raw, WHEN)
    assert (msg.subject, msg.sender, msg.message_id) == ("济南市继续教育基地申报", "a@b.cn", "<m@b.cn>")


def test_an_attachment_after_an_inner_part_reusing_the_outer_boundary_is_found():
    raw = ("From: a@b.cn\r\nSubject: x\r\nMessage-ID: <m@b.cn>\r\nMIME-Version: 1.0\r\n"
           'Content-Type: multipart/mixed; boundary="X"\r\n\r\n'
           "--X\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n请查收\r\n"
           '--X\r\nContent-Type: multipart/alternative; boundary="X"\r\n\r\n'
           "--X\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n正文\r\n"
           "--X\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>正文</p>\r\n"
           "--X--\r\n"
           '--X\r\nContent-Type: application/pdf; name="a.pdf"\r\nContent-Disposition: attachment; filename="a.pdf"\r\n'
           "Content-Transfer-Encoding: base64\r\n\r\n" + base64.b64encode(PDF).decode() + "\r\n--X--\r\n").encode()
    msg = parse(raw, WHEN)
    assert [(a.filename, a.data) for a in msg.attachments] == [("a.pdf", PDF)]
    assert any("内层分隔符与外层相同" in p.detail for p in msg.problems)
