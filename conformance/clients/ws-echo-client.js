#!/usr/bin/env node
// Echo client built on the `ws` library (the version pinned in
// conformance/servers/package-lock.json), for testing `wsspec clients`.
//
// Usage:
//   node ws-echo-client.js [--deflate] URL
//     one case: connect to URL, echo every message with its type, exit when the
//     connection closes (what `wsspec clients --exec` starts per case);
//   node ws-echo-client.js [--deflate] --driver ws://127.0.0.1:9001 [--agent NAME]
//     an Autobahn driver in the style of ws's own test script: /getCaseCount, then
//     /runCase?case=N&agent=NAME for N = 1..count (the next case starts from the
//     previous one's `close` event), then /updateReports?agent=NAME.
// Limits are raised as Autobahn drivers do (maxPayload 64 MiB). permessage-deflate is
// offered only with --deflate (ws's default offer, `permessage-deflate;
// client_max_window_bits`), for 12.x/13.x: without it those cases are UNIMPLEMENTED.
'use strict';

const path = require('path');
const WebSocket = require(require.resolve('ws', {
  paths: [path.join(__dirname, '..', 'servers')],
}));

const args = process.argv.slice(2);
const deflate = args[0] === '--deflate';
if (deflate) args.shift();
const OPTS = { maxPayload: 64 << 20, perMessageDeflate: deflate };

function echo(url, done) {
  let ws;
  try {
    ws = new WebSocket(url, OPTS);
  } catch (e) {
    process.stderr.write(`ws-echo-client: ${e.message}\n`);
    done(e);
    return;
  }
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  // Protocol errors are expected in a conformance run; ws closes with the right code.
  ws.on('error', (e) => process.stderr.write(`ws-echo-client: ${e.message}\n`));
  ws.on('close', () => done());
}

function fetchText(url, cb) {
  const ws = new WebSocket(url, OPTS);
  let text = null;
  ws.on('message', (data) => { text = data.toString(); });
  ws.on('error', (e) => process.stderr.write(`ws-echo-client: ${e.message}\n`));
  ws.on('close', () => cb(text));
}

function driver(base, agent) {
  fetchText(`${base}/getCaseCount`, (text) => {
    const count = Number(text);
    if (!Number.isInteger(count) || count < 1) {
      process.stderr.write(`ws-echo-client: bad case count ${JSON.stringify(text)}\n`);
      process.exit(1);
    }
    let n = 1;
    const next = () => {
      if (n > count) {
        fetchText(`${base}/updateReports?agent=${encodeURIComponent(agent)}`, () => process.exit(0));
        return;
      }
      const url = `${base}/runCase?case=${n}&agent=${encodeURIComponent(agent)}`;
      n += 1;
      echo(url, next);
    };
    next();
  });
}

if (args[0] === '--driver') {
  const base = args[1];
  const i = args.indexOf('--agent');
  driver(base, i >= 0 ? args[i + 1] : 'ws');
} else if (args.length === 1) {
  echo(args[0], (err) => process.exit(err ? 1 : 0));
} else {
  process.stderr.write('usage: node ws-echo-client.js [--deflate] URL | [--deflate] --driver BASE_URL [--agent NAME]\n');
  process.exit(2);
}
