#!/usr/bin/env python3
"""Independent permessage-deflate reference for tests/prop/deflate_python.rs.

Python's zlib (the C zlib the interpreter links, not wsspec's zlib-rs) compresses and
inflates message streams the way RFC 7692 section 7.2 describes. One JSON request per line on
stdin, one JSON answer per line on stdout; byte strings are base64.

  {"op": "compress", "wbits": 9-15, "nct": bool, "level": 0-9, "flush": "sync"|"full"|"final",
   "messages": [b64...]}
      -> {"payloads": [b64...]}
      sync:  Z_SYNC_FLUSH per message, trailing 00 00 ff ff removed (section 7.2.1).
      full:  Z_FULL_FLUSH per message (no reference into earlier messages), tail removed.
      final: each message is a complete stream ending in a BFINAL block (section 7.2.3.4);
             under context takeover the next stream is primed with the last 32 KiB of
             plaintext as a preset dictionary, so it may still reach into earlier messages.
  {"op": "inflate", "wbits": 8-15, "nct": bool, "strict": bool, "messages": [b64...]}
      -> {"messages": [b64...]} or {"error": str, "index": int}
      The tail is appended (section 7.2.2). strict inflates one output byte per call, which
      makes zlib's distance check exact: no back-reference may reach further than the window.
"""
import base64
import json
import sys
import zlib

TAIL = b"\x00\x00\xff\xff"


def b64(data):
    return base64.b64encode(data).decode("ascii")


def unb64(text):
    return base64.b64decode(text)


def compress(req):
    wbits, level, flush = req["wbits"], req["level"], req["flush"]
    nct = req["nct"]
    out = []
    history = b""
    comp = None
    for text in req["messages"]:
        msg = unb64(text)
        if flush == "final":
            if nct or not history:
                comp = zlib.compressobj(level, zlib.DEFLATED, -wbits)
            else:
                comp = zlib.compressobj(level, zlib.DEFLATED, -wbits, zdict=history[-32768:])
            data = comp.compress(msg) + comp.flush(zlib.Z_FINISH)
            history = (history + msg)[-32768:]
        else:
            if comp is None or nct:
                comp = zlib.compressobj(level, zlib.DEFLATED, -wbits)
            mode = zlib.Z_SYNC_FLUSH if flush == "sync" else zlib.Z_FULL_FLUSH
            data = comp.compress(msg) + comp.flush(mode)
            if data.endswith(TAIL):
                data = data[:-4]
            else:
                # zlib skips a flush that repeats the previous one with no new input (an empty
                # message right after a message): the stream is between blocks, so an empty
                # stored block is the empty message.
                data += b"\x00"
        out.append(b64(data))
    return {"payloads": out}


def inflate(req):
    wbits, nct, strict = req["wbits"], req["nct"], req["strict"]
    decomp = None
    out = []
    for index, text in enumerate(req["messages"]):
        if decomp is None or nct or decomp.eof:
            # After a final block the next message is a new stream; a reference implementation
            # cannot restore the window here, so "final" streams are only checked one way.
            decomp = zlib.decompressobj(wbits=-wbits)
        data = unb64(text) + TAIL
        try:
            if strict:
                got = bytearray()
                while not decomp.eof:
                    # Input may be used up while a match is still being copied out, so go on
                    # until a call yields nothing and nothing is left.
                    chunk = decomp.decompress(data, 1)
                    data = decomp.unconsumed_tail
                    got += chunk
                    if not chunk and not data:
                        break
                got = bytes(got)
            else:
                got = decomp.decompress(data)
        except zlib.error as e:
            return {"error": str(e), "index": index}
        out.append(b64(got))
    return {"messages": out}


def main():
    for line in sys.stdin:
        req = json.loads(line)
        if req["op"] == "compress":
            answer = compress(req)
        else:
            answer = inflate(req)
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
