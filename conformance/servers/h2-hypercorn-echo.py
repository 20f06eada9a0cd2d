"""WebSocket echo app served by hypercorn over HTTP/2 (RFC 8441) and HTTP/1.1.

    python h2-hypercorn-echo.py [--tls CERT KEY]

Binds 127.0.0.1 on an ephemeral port itself, hands the socket to hypercorn (``fd://``),
and prints one line ``LISTENING <port>`` on stdout once serving. Cleartext serves h2c
with prior knowledge and HTTP/1.1 on the same port; with ``--tls`` ALPN picks h2 or
http/1.1. SIGTERM ends it. Run with the interpreter of the venv that
``scripts/autobahn/install.sh hypercorn`` builds.

The app accepts every WebSocket (the first offered subprotocol, if any) and echoes
each message with its type; hypercorn (wsproto) does the RFC 6455 framing.
"""

import asyncio
import signal
import socket
import sys

from hypercorn.asyncio import serve
from hypercorn.config import Config


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            msg = await receive()
            kind = msg["type"].rsplit(".", 1)[-1]
            await send({"type": f"lifespan.{kind}.complete"})
            if kind == "shutdown":
                return
    if scope["type"] == "http":
        body = b"hypercorn echo: WebSockets only\n"
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
        return
    await receive()  # websocket.connect
    subs = scope.get("subprotocols") or []
    await send({"type": "websocket.accept", "subprotocol": subs[0] if subs else None})
    while True:
        msg = await receive()
        if msg["type"] == "websocket.disconnect":
            return
        if msg.get("text") is not None:
            await send({"type": "websocket.send", "text": msg["text"]})
        else:
            await send({"type": "websocket.send", "bytes": msg.get("bytes") or b""})


async def main():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.set_inheritable(True)
    config = Config()
    config.bind = [f"fd://{sock.fileno()}"]
    config.accesslog = None
    config.errorlog = "-"
    if len(sys.argv) == 4 and sys.argv[1] == "--tls":
        config.certfile, config.keyfile = sys.argv[2], sys.argv[3]
    elif len(sys.argv) != 1:
        sys.exit("usage: h2-hypercorn-echo.py [--tls CERT KEY]")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"LISTENING {sock.getsockname()[1]}", flush=True)
    await serve(app, config, shutdown_trigger=stop.wait)


if __name__ == "__main__":
    asyncio.run(main())
