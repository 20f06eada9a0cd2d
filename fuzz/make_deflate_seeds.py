#!/usr/bin/env python3
"""Writes the seed corpus of the permessage-deflate fuzz targets under
fuzz/corpus/{extension_header,inflate_bounded}/ (kept apart from make_seeds.py so the deflate
codec's seeds change on their own).

Run from the repository root: python3 fuzz/make_deflate_seeds.py. The output is committed.
Offers are Autobahn 13.x's (shared/reference/autobahn-cases.md section 11); payloads are the
RFC 7692 section 7.2.3 examples and streams Python's zlib compresses.
"""
import os
import struct
import zlib

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def write(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


DEFAULT = "permessage-deflate; client_no_context_takeover; client_max_window_bits"
headers = {
    "ab_13_1": DEFAULT,
    "ab_13_2": DEFAULT + "; server_no_context_takeover",
    "ab_13_3": DEFAULT + "; server_max_window_bits=9",
    "ab_13_6": DEFAULT + "; server_no_context_takeover; server_max_window_bits=15",
    "ab_13_7": ", ".join([
        DEFAULT + "; server_no_context_takeover; server_max_window_bits=9",
        DEFAULT + "; server_no_context_takeover",
        DEFAULT,
    ]),
    "rfc_fallback": "permessage-deflate; client_max_window_bits; server_max_window_bits=10, "
                    "permessage-deflate; client_max_window_bits",
    "rfc_foo": "permessage-foo; use_y, permessage-foo",
    "answer_plain": "permessage-deflate",
    "answer_windows": "permessage-deflate; server_max_window_bits=9; client_max_window_bits=8",
    "answer_nct": "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
    "quoted": 'permessage-deflate; server_max_window_bits="10"; client_max_window_bits="\\9"',
    "loose_ws": " ,permessage-deflate ;\tclient_max_window_bits = 12 , , x-webkit-deflate-frame",
    "bad_bare_server": "permessage-deflate; server_max_window_bits",
    "bad_dup": "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
    "bad_range": "permessage-deflate; client_max_window_bits=16; server_max_window_bits=08",
    "bad_unknown": "permessage-deflate; mystery=1",
    "bad_quote": 'permessage-deflate; server_max_window_bits="9',
    "two_answers": "permessage-deflate, permessage-deflate; server_max_window_bits=9",
}
for name, text in headers.items():
    write("extension_header", name, text.encode())


def raw(data, wbits=15, level=6, flush=zlib.Z_SYNC_FLUSH):
    c = zlib.compressobj(level, zlib.DEFLATED, -wbits)
    out = c.compress(data) + c.flush(flush)
    return out[:-4] if out.endswith(b"\x00\x00\xff\xff") else out


def stream(cfg, payloads):
    return bytes([cfg]) + b"".join(struct.pack(">H", len(p)) + p for p in payloads)


def cfg(window=15, nct=False, strict=False, limit=6):
    return (window - 8) | (8 if nct else 0) | (16 if strict else 0) | (limit << 5)


def takeover(messages, wbits, level=6):
    c = zlib.compressobj(level, zlib.DEFLATED, -wbits)
    out = []
    for m in messages:
        data = c.compress(m) + c.flush(zlib.Z_SYNC_FLUSH)
        out.append(data[:-4])
    return out


HELLO = bytes.fromhex("f248cdc9c90700")
text = b"permessage-deflate compresses each message; " * 40
streams = {
    "rfc_hello_shared": stream(cfg(), [HELLO, bytes.fromhex("f200110000")]),
    "rfc_stored": stream(cfg(), [bytes.fromhex("000500faff48656c6c6f00")]),
    "rfc_bfinal_then_shared": stream(cfg(), [bytes.fromhex("f348cdc9c9070000"),
                                             bytes.fromhex("f200110000")]),
    "rfc_two_blocks": stream(cfg(), [bytes.fromhex("f248050000 00ffff cac9c90700".replace(" ", ""))]),
    "empty_message": stream(cfg(), [b"\x00", HELLO, b"\x00"]),
    "empty_payload": stream(cfg(), [b""]),
    "takeover_w9": stream(cfg(window=9), takeover([text, text[:300], text], 9)),
    "takeover_w15_strict": stream(cfg(strict=True), takeover([text, text], 15)),
    "nct_w12": stream(cfg(window=12, nct=True), [raw(text, 12), raw(text, 12)]),
    "bomb_limit_4096": stream(cfg(limit=4), [raw(bytes(60000), 15, 9)]),
    "over_limit_100": stream(cfg(limit=2), [raw(text)]),
    "window_too_far_w8": stream(cfg(window=8, strict=True),
                                [raw(bytes((i * 7) % 251 for i in range(600)) * 4, 15)]),
    "corrupt": stream(cfg(), [b"\xff\xff\xff\xff\xff"]),
    "truncated": stream(cfg(), [raw(text)[:10]]),
}
for name, data in streams.items():
    write("inflate_bounded", name, data)
