// The plumbing shared by ws-restart-bug.js and ws-restart-fixed.js: an HTTP server on
// 127.0.0.1:$PORT whose WebSocket part the server file attaches, and the four ways
// to ask it for an in-process restart that wsspec's `restart_server trigger` uses:
//
//   SIGUSR2                      signal:USR2
//   POST /__restart (answers 204) http:POST /__restart
//   a line "rs" or "r" on stdin  stdin:rs
//   (any of these from a shell)  command:kill -USR2 $SERVER_PID
//
// A restart runs the server file's stop(), closes the HTTP listener, then listens
// again on the same port and runs start(), in the same process, the way dev servers
// restart on a config change. Every (re)start prints `LISTENING <port>` on stdout;
// everything else goes to stderr. SIGTERM/SIGINT: exit 0.
'use strict';

const http = require('http');
const { WebSocketServer } = require('ws');

// Longest a restart waits for the old listener's connections to end.
const CLOSE_GRACE_MS = 2000;

function log(msg) {
  process.stderr.write(`${process.argv[1].split('/').pop()}: ${msg}\n`);
}

// The Origins a page of this server itself would send; anything else is refused
// before the upgrade (the generic profile's cswsh check).
function ownOrigin(origin, port) {
  return origin === undefined || origin === `http://127.0.0.1:${port}` || origin === `http://localhost:${port}`;
}

// `makeWs(server, port)` returns `{ start(), stop() }`: start() makes the HTTP server
// handle WebSocket upgrades, stop() ends that and every open WebSocket connection.
function serve(makeWs) {
  const raw = process.env.PORT;
  if (!/^\d{1,5}$/.test(raw || '') || Number(raw) < 1 || Number(raw) > 65535) {
    log(`PORT must be 1..65535, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  const port = Number(raw);
  let restarting = false;
  const server = http.createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/__restart') {
      res.writeHead(204);
      res.end();
      res.on('finish', () => restart('POST /__restart'));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('a plain HTTP page, not a WebSocket\n');
  });
  server.on('error', (err) => {
    log(`server error: ${err.message}`);
    process.exit(1);
  });
  const ws = makeWs(server, port);

  function listen() {
    ws.start();
    server.listen(port, '127.0.0.1', () => process.stdout.write(`LISTENING ${port}\n`));
  }

  function restart(why) {
    if (restarting) return;
    restarting = true;
    log(`restarting in process (${why})`);
    ws.stop();
    let done = false;
    const again = () => {
      if (done) return;
      done = true;
      restarting = false;
      listen();
    };
    server.close(again);
    server.closeAllConnections();
    setTimeout(again, CLOSE_GRACE_MS).unref();
  }

  process.on('SIGUSR2', () => restart('SIGUSR2'));
  let pending = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk) => {
    pending += chunk;
    let nl;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl).trim();
      pending = pending.slice(nl + 1);
      if (line === 'rs' || line === 'r') restart(`stdin ${JSON.stringify(line)}`);
    }
  });
  const shutdown = () => {
    ws.stop();
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 1000).unref();
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  listen();
}

// A ws WebSocketServer on the HTTP server that echoes every message (text as text,
// binary as binary; protocol errors are answered by ws and logged, never fatal) and
// refuses foreign Origins before the upgrade.
function echoServer(server, port) {
  const wss = new WebSocketServer({
    server,
    verifyClient: ({ req }) => ownOrigin(req.headers.origin, port),
  });
  wss.on('connection', (socket) => {
    socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
    socket.on('error', (err) => log(`client error: ${err.message}`));
  });
  return wss;
}

// Ends every connection of a WebSocketServer and closes it; a closed one also takes
// its upgrade listener off the HTTP server.
function closeServer(wss) {
  for (const c of wss.clients) c.terminate();
  wss.close();
}

module.exports = { serve, echoServer, closeServer };
