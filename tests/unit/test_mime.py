"""Decoding what Chinese mail clients actually send."""
import base64
from datetime import datetime, timezone

from pipeline.mail.mime import decode_header_value, parse

WHEN = datetime(2019, 9, 10, 2, 15, tzinfo=timezone.utc)
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
    assert msg.attachments and any("无法解码" in f.detail for f in msg.problems)


def test_missing_message_id_gets_a_stable_stand_in():
    raw = b"From: a@b.cn\r\nSubject: x\r\n\r\nhi\r\n"
    assert parse(raw, WHEN).message_id == parse(raw, WHEN).message_id.strip()
    assert parse(raw, WHEN).message_id.startswith("<sha256-")
