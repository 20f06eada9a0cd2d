#!/usr/bin/env python3
"""Echo client on the Python `websockets` library (asyncio implementation), set up as
websockets' own Autobahn compliance client is (max_size 2**25; keepalive pings off, so
no ping from the client lands in the middle of a case's recorded events). Compression is
off unless --deflate is given (then websockets' default permessage-deflate offer, for
12.x/13.x; without it those cases are UNIMPLEMENTED).

Usage:
  python websockets-client.py [--deflate] URL
      one case: connect, echo every message with its type, exit when it closes (what
      `wsspec clients --exec` starts per case);
  python websockets-client.py [--deflate] --driver ws://127.0.0.1:9001 [--agent NAME]
      the compliance client's driver loop: /getCaseCount, /runCase?case=N&agent=NAME for
      N = 1..count, /updateReports?agent=NAME.

Install: `scripts/autobahn/install.sh websockets` prints the venv's python to run this with.
"""

import argparse
import asyncio
import json
import sys
import urllib.parse

from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

OPTS = dict(max_size=2**25, ping_interval=None, compression=None)
if "--deflate" in sys.argv[1:]:
    OPTS["compression"] = "deflate"


async def echo(url):
    try:
        async with connect(url, **OPTS) as ws:
            async for msg in ws:
                await ws.send(msg)
    except WebSocketException as e:
        # Protocol errors are expected in a conformance run.
        print(f"websockets-client: {e!r}", file=sys.stderr)
    except OSError as e:
        print(f"websockets-client: {e}", file=sys.stderr)
        return 1
    return 0


async def driver(base, agent):
    async with connect(f"{base}/getCaseCount", **OPTS) as ws:
        count = json.loads(await ws.recv())
    a = urllib.parse.quote(agent)
    for case in range(1, count + 1):
        await echo(f"{base}/runCase?case={case}&agent={a}")
    async with connect(f"{base}/updateReports?agent={a}", **OPTS) as ws:
        try:
            await ws.recv()
        except WebSocketException:
            pass
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("url", nargs="?")
    p.add_argument("--driver", metavar="BASE_URL")
    p.add_argument("--agent", default="websockets")
    p.add_argument("--deflate", action="store_true", help="offer permessage-deflate")
    a = p.parse_args()
    if a.driver:
        return asyncio.run(driver(a.driver, a.agent))
    if not a.url:
        p.error("a URL or --driver BASE_URL is required")
    return asyncio.run(echo(a.url))


if __name__ == "__main__":
    sys.exit(main())
