#!/usr/bin/env python3
"""Echo server on the Python `websockets` library (asyncio implementation).

Set up as websockets' own Autobahn compliance server is: default options except
max_size 2**25 (32 MiB), so the 16 MiB messages of Autobahn's 9.x cases fit. Keepalive
pings are off (ping_interval=None): a ping from the server in the middle of a case is
timing noise for a verdict comparison. permessage-deflate stays at the library default
(accepted when offered; cases 1-10 never offer it).

Usage: python websockets-echo.py [--port N] [--host H]
  --port 0 (the default) asks the kernel for an ephemeral port; --host defaults to 127.0.0.1.
Prints exactly one line `LISTENING <port>` on stdout once it accepts connections;
everything else goes to stderr. SIGTERM/SIGINT: exit 0.

Install: `scripts/autobahn/install.sh websockets` (pinned in requirements-websockets.txt)
prints the venv's python to run this with.
"""

import argparse
import asyncio
import signal
import sys

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed


async def echo(ws):
    try:
        async for message in ws:
            await ws.send(message)
    except ConnectionClosed:
        pass


async def main(host, port):
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    async with serve(echo, host, port, max_size=2**25, ping_interval=None) as server:
        bound = server.sockets[0].getsockname()[1]
        sys.stdout.write(f"LISTENING {bound}\n")
        sys.stdout.flush()
        await stop
    # Leaving the context closes open connections (close 1001) and stops listening.


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="websockets echo server")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    if not 0 <= args.port <= 65535:
        parser.error(f"--port expects 0..65535, got {args.port}")
    asyncio.run(main(args.host, args.port))
