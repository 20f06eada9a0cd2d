#!/usr/bin/env node
// Echo server built on the `ws` library with its default server options
// (maxPayload 100 MiB, no permessage-deflate, auto-pong), so wsspec can compare
// its own peers against the library the HMR servers use.
//
// Usage: node ws-echo.js [--port N] [--host H] [--deflate]
//   --port 0 (the default) asks the kernel for an ephemeral port.
//   --host defaults to 127.0.0.1.
//   --deflate turns on permessage-deflate (`perMessageDeflate: true`, ws's defaults:
//   messages under 1024 bytes are sent uncompressed), for Autobahn's 12.x/13.x.
// Prints exactly one line `LISTENING <port>` on stdout once it accepts
// connections; everything else goes to stderr. SIGTERM/SIGINT: exit 0.
'use strict';

const { WebSocketServer } = require('ws');

function usage(msg) {
  process.stderr.write(`ws-echo: ${msg}\nusage: node ws-echo.js [--port N] [--host H] [--deflate]\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { port: 0, host: '127.0.0.1', deflate: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(0, eq) : arg;
    const take = () => {
      if (eq >= 0) return arg.slice(eq + 1);
      if (i + 1 >= argv.length) usage(`${name} needs a value`);
      return argv[++i];
    };
    if (name === '--port') {
      const v = take();
      if (!/^\d{1,5}$/.test(v) || Number(v) > 65535) usage(`--port expects 0..65535, got '${v}'`);
      opts.port = Number(v);
    } else if (name === '--host') {
      opts.host = take();
      if (opts.host === '') usage('--host must not be empty');
    } else if (name === '--deflate' && eq < 0) {
      opts.deflate = true;
    } else if (name === '--help' || name === '-h') {
      usage('help');
    } else {
      usage(`unknown argument '${arg}'`);
    }
  }
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
const wss = new WebSocketServer({
  host: opts.host,
  port: opts.port,
  perMessageDeflate: opts.deflate,
});

wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => {
    ws.send(data, { binary: isBinary });
  });
  // Protocol violations surface here after ws has sent its close frame; without
  // a listener the process would die on the first bad frame.
  ws.on('error', (err) => {
    process.stderr.write(`ws-echo: client error: ${err.message}\n`);
  });
});

wss.on('error', (err) => {
  process.stderr.write(`ws-echo: server error: ${err.message}\n`);
  process.exit(1);
});

wss.on('listening', () => {
  process.stdout.write(`LISTENING ${wss.address().port}\n`);
});

function shutdown() {
  for (const client of wss.clients) client.terminate();
  wss.close(() => process.exit(0));
  // close() waits for nothing else, but never let a stuck socket keep us alive.
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
