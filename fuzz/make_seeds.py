#!/usr/bin/env python3
"""Writes the hand-made seed corpus under fuzz/corpus/<target>/.

Run from the repository root: python3 fuzz/make_seeds.py. The output is committed; rerun
only to change the seeds. Autobahn 6.x payloads come from the case catalogue
(shared/reference/autobahn-cases.md) and are the same list as tests/common/mod.rs.
"""
import base64
import hashlib
import os
import re
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
KEY = bytes([0x37, 0xFA, 0x21, 0x3D])


def frame(op, payload, fin=True, mask=KEY, rsv=0, length=None, form=None):
    n = len(payload) if length is None else length
    b0 = (0x80 if fin else 0) | (rsv << 4) | op
    mbit = 0x80 if mask else 0
    if form is None:
        form = "short" if n <= 125 else ("u16" if n <= 0xFFFF else "u64")
    if form == "short":
        head = bytes([b0, mbit | n])
    elif form == "u16":
        head = bytes([b0, mbit | 126]) + struct.pack(">H", n)
    else:
        head = bytes([b0, mbit | 127]) + struct.pack(">Q", n)
    if mask:
        head += mask
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + payload


def close(code, reason=b"", **kw):
    return frame(0x8, struct.pack(">H", code) + reason, **kw)


def write(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def autobahn_payloads():
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "..", "tests", "common", "mod.rs")) as f:
        src = f.read()
    block = src[src.index("AUTOBAHN_6X"):src.index("];", src.index("AUTOBAHN_6X"))]
    return [bytes.fromhex(h) for h in re.findall(r'\("([0-9a-f]*)", (?:true|false)\)', block)]


KOSME_BAD = bytes.fromhex("cebae1bdb9cf83cebcceb5f4908080656469746564")

headers = {
    "masked_hello": frame(0x1, b"Hello"),
    "unmasked_hello": frame(0x1, b"Hello", mask=None),
    "binary_126": frame(0x2, bytes(126))[:8],
    "binary_65536": frame(0x2, b"", length=65536),
    "ping": frame(0x9, b"ping"),
    "close_1000": close(1000, b"bye"),
    "reserved_opcode": frame(0x3, b""),
    "reserved_control": frame(0xB, b""),
    "rsv1": frame(0x1, b"x", rsv=4),
    "top_bit": frame(0x2, b"", length=1 << 63, mask=None),
    "non_minimal_u16": frame(0x1, b"abc", form="u16"),
    "non_minimal_u64": frame(0x1, b"abc", form="u64"),
    "fragmented_ping": frame(0x9, b"", fin=False),
    "ping_126": frame(0x9, bytes(126)),
    "ping_non_minimal_ok": frame(0x9, b"p", form="u16"),
}
for name, data in headers.items():
    write("frame_parse", name, data)
    write("differential", name, data)

# message_assembly: byte 0 = config (bit 0 client role, bit 1 tiny limits, bits 2-7 seed).
SERVER, CLIENT, TINY = 0x00, 0x01, 0x02
streams = {
    "rfc_examples_client": bytes([CLIENT]) + frame(0x1, b"Hel", fin=False, mask=None)
    + frame(0x9, b"Hello", mask=None) + frame(0x0, b"lo", mask=None)
    + frame(0x2, bytes(256), mask=None) + frame(0xA, b"Hello", mask=None),
    "fragments_with_ping": bytes([SERVER | 0x14]) + frame(0x1, b"fragment1", fin=False)
    + frame(0x9, b"p") + frame(0x0, b"fragment2") + close(1000),
    "6_2_3_bytewise": bytes([SERVER | 0x08])
    + b"".join(frame(0x1 if i == 0 else 0x0, bytes([b]), fin=False)
               for i, b in enumerate(bytes.fromhex("48656c6c6f2dc2b540c39fc3b6c3a4c3bcc3a0c3a12d5554462d382121")))
    + frame(0x0, b""),
    "6_4_1_three_frames": bytes([SERVER]) + frame(0x1, KOSME_BAD[:11], fin=False)
    + frame(0x0, KOSME_BAD[11:15], fin=False) + frame(0x0, KOSME_BAD[15:]),
    "6_4_2_three_frames": bytes([SERVER]) + frame(0x1, KOSME_BAD[:12], fin=False)
    + frame(0x0, KOSME_BAD[12:13], fin=False) + frame(0x0, KOSME_BAD[13:]),
    "6_4_3_one_frame": bytes([SERVER | 0x04]) + frame(0x1, KOSME_BAD, fin=False) + frame(0x0, b""),
    "close_1005": bytes([SERVER]) + close(1005),
    "close_1014": bytes([SERVER]) + close(1014, b"bad gateway"),
    "close_len1": bytes([SERVER]) + frame(0x8, b"\x03"),
    "close_bad_reason": bytes([SERVER]) + close(1000, bytes.fromhex("cebae1bdb9cf83cebcceb5eda080")),
    "continuation_first": bytes([SERVER]) + frame(0x0, b"x"),
    "text_inside_text": bytes([SERVER]) + frame(0x1, b"a", fin=False) + frame(0x1, b"b"),
    "unmasked_to_server": bytes([SERVER]) + frame(0x1, b"x", mask=None),
    "masked_to_client": bytes([CLIENT]) + frame(0x1, b"x"),
    "tiny_limits": bytes([SERVER | TINY]) + frame(0x2, bytes(150), fin=False) + frame(0x0, bytes(151)),
    "huge_announce": bytes([SERVER]) + frame(0x2, b"", length=1 << 40),
}
for name, data in streams.items():
    write("message_assembly", name, data)
for i, p in enumerate(autobahn_payloads()):
    write("message_assembly", f"autobahn_6x_{i:03}", bytes([SERVER | (i % 64) << 2]) + frame(0x1, p))

req = (b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n"
       b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
       b"Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n"
       b"Sec-WebSocket-Version: 13\r\n\r\n")
write("handshake_request", "rfc_sample", req)
write("handshake_request", "lf_only", req.replace(b"\r\n", b"\n"))
write("handshake_request", "extensions_query",
      b"GET /?token=abc&x=%20 HTTP/1.1\r\nHost: 127.0.0.1:5173\r\nUpgrade: WebSocket\r\n"
      b"Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\n"
      b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: vite-hmr\r\n"
      b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n")
write("handshake_request", "version_8", req.replace(b"Version: 13", b"Version: 8"))

accept = base64.b64encode(hashlib.sha1(b"dGhlIHNhbXBsZSBub25jZQ==" + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
assert accept == b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
resp = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + accept + b"\r\nSec-WebSocket-Protocol: chat\r\n\r\n")
write("handshake_response", "rfc_sample", resp)
write("handshake_response", "deflate", resp.replace(b"\r\n\r\n", b"\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n"))
write("handshake_response", "wrong_protocol", resp.replace(b"chat\r\n", b"other\r\n"))
write("handshake_response", "upgrade_required",
      b"HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n")

# fast_vs_reference: byte 0 = config (bits 0-1 rules: 0 server, 1 client, 2 any role,
# 3 server with RSV allowed; bit 2 tiny limits; bits 3-7 kernel set, modulo those
# available). The message_assembly streams, plus payloads long enough for the SIMD kernels.
def fast_cfg(rules, tiny=False, isa=0):
    return rules | (4 if tiny else 0) | (isa << 3)


for name, data in streams.items():
    cfg = data[0]
    write("fast_vs_reference", name, bytes([fast_cfg(cfg & 1, bool(cfg & 2))]) + data[1:])

TEXT = "κόσμε Hello wörld 🎉 ∑ ".encode() * 40
BAD = b"\xf4\x90\x80\x80"
long_streams = {
    "long_text": (0, frame(0x1, TEXT)),
    "long_ascii": (0, frame(0x1, b"a" * 1024)),
    "long_text_fragments_split_in_chars": (
        0, frame(0x1, TEXT[:101], fin=False) + frame(0x9, b"p")
        + frame(0x0, TEXT[101:1003], fin=False) + frame(0x0, TEXT[1003:])),
    "long_text_bad_at_end": (0, frame(0x1, TEXT + BAD)),
    "long_text_bad_in_second_fragment": (
        0, frame(0x1, TEXT[:64], fin=False) + frame(0x0, TEXT[64:200] + BAD + TEXT[200:300])),
    "long_text_open_sequence_at_fragment_end": (
        0, frame(0x1, TEXT[:64] + b"\xf0\x9f", fin=False) + frame(0x0, b"\x8e\x89" + TEXT[:64])),
    "binary_64k": (0, frame(0x2, bytes(range(256)) * 256)),
    "client_unmasked_text": (1, frame(0x1, TEXT, mask=None) + frame(0xA, b"pong", mask=None)),
    "any_role_mixed": (2, frame(0x1, TEXT[:300]) + frame(0x2, bytes(200), mask=None)),
    "rsv_allowed": (3, frame(0x1, TEXT[:200], rsv=4) + frame(0x2, b"x", rsv=2)),
    "tiny_limits_long_text": (4, frame(0x1, TEXT[:150], fin=False) + frame(0x0, TEXT[150:400])),
}
for name, (cfg, data) in long_streams.items():
    for isa in range(4):
        write("fast_vs_reference", f"{name}_k{isa}", bytes([cfg | (isa << 3)]) + data)

# utf8_pieces: byte 0 = seed (piece sizes, mask key, gap); the rest is the text.
texts = {
    "empty": b"",
    "long_text": TEXT,
    "long_text_truncated": TEXT + b"\xf0\x9f\x8e",
    "long_ascii": b"x" * 300,
    "overlong": TEXT[:40] + b"\xc0\xaf" + TEXT[:40],
    "surrogate": TEXT[:70] + b"\xed\xa0\x80",
    "above_max": b"a" * 63 + BAD,
}
for at in (15, 16, 31, 32, 33, 63, 64, 65, 127, 128):
    texts[f"bad_at_{at}"] = TEXT[:at] + b"\xff" + TEXT[at:at + 100]
for i, (name, t) in enumerate(texts.items()):
    write("utf8_pieces", name, bytes([(i * 37) % 256]) + t)
for i, p in enumerate(autobahn_payloads()):
    write("utf8_pieces", f"autobahn_6x_{i:03}", bytes([i % 256]) + p)
