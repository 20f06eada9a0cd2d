#!/usr/bin/env node
// An app's main process with node-network-devtools registered (the package's README
// way: `register()` in the entry), as the client under test of wsspec's `devtools`
// profile, where wsspec plays the package's fork on the core port.
//
// node-network-devtools 1.0.30 (from the lockfile of conformance/servers): `register()`
// connects to ws://127.0.0.1:<port> and, only when that is refused, forks its own
// DevTools server (shared/protocols/devtools-cdp.md 2.2). The profile always listens
// on the port first, so no fork is started. Once connected the main sends
// {"type":"healthcheck","data":{}} at once and every 2 s.
//
// With `--tag NAME --fetch-every MS` the app also serves HTTP on 127.0.0.1 (a free
// port) and fetches `/hello?main=NAME` from itself every MS ms, so a DevTools client of
// the fork can tell which main process a request came from (the `two-mains-race`
// check: a main that was skipped never shows up).
//
// With `--register-on-stdin` it loads the package, prints "devtools-app loaded pid=N"
// and calls register() only when a line arrives on stdin, so that a harness can have
// two mains register within a few milliseconds of each other (module loading, ~300 ms,
// varies too much to line two processes up by their start times).
//
// Usage: node devtools-app.js --port CORE_PORT --server-port DEVTOOLS_PORT
//                             [--tag NAME --fetch-every MS] [--register-on-stdin]
// Output: "devtools-app started pid=N" after register() (wsspec's ready line); register()
// writes the package's lock file before it returns.
// SIGTERM: exits 0.
'use strict';

const path = require('path');
const http = require('http');

const args = { port: 0, serverPort: 0, tag: null, fetchEvery: 0, onStdin: false };
for (let i = 2; i < process.argv.length; i += 2) {
  const k = process.argv[i];
  const raw = process.argv[i + 1];
  if (k === '--register-on-stdin') {
    args.onStdin = true;
    i -= 1;
    continue;
  }
  if (k === '--tag') {
    if (!/^[A-Za-z0-9_-]{1,32}$/.test(raw || '')) {
      console.error('devtools-app: --tag needs a name of 1-32 letters, digits, _ or -');
      process.exit(2);
    }
    args.tag = raw;
    continue;
  }
  const v = Number(raw);
  const max = k === '--fetch-every' ? 60000 : 65535;
  if (!Number.isInteger(v) || v <= 0 || v > max) {
    console.error(`devtools-app: ${k} needs a number from 1 to ${max}`);
    process.exit(2);
  }
  if (k === '--port') args.port = v;
  else if (k === '--server-port') args.serverPort = v;
  else if (k === '--fetch-every') args.fetchEvery = v;
  else {
    console.error(`devtools-app: unknown option ${JSON.stringify(k)}`);
    process.exit(2);
  }
}
if ((args.tag === null) !== (args.fetchEvery === 0)) {
  console.error('devtools-app: --tag and --fetch-every go together');
  process.exit(2);
}
if (!args.port || !args.serverPort) {
  console.error('devtools-app: --port and --server-port are required');
  process.exit(2);
}

let nnd;
try {
  nnd = require(path.join(__dirname, '..', 'servers', 'node_modules', 'node-network-devtools'));
} catch (e) {
  console.error(`devtools-app: node-network-devtools is missing (${e.message}); run conformance/servers/ensure-installed.sh`);
  process.exit(2);
}
process.on('SIGTERM', () => process.exit(0));
if (args.onStdin) {
  console.log(`devtools-app loaded pid=${process.pid}`);
  let buf = '';
  const onData = (d) => {
    buf += d.toString();
    if (!buf.includes('\n')) return;
    process.stdin.off('data', onData);
    process.stdin.pause();
    start();
  };
  process.stdin.on('data', onData);
} else {
  start();
}

function start() {
  nnd.register({ port: args.port, serverPort: args.serverPort, autoOpenDevtool: false });
  if (args.tag !== null) fetchForever();
  console.log(`devtools-app started pid=${process.pid} port=${args.port}`);
}

function fetchForever() {
  const server = http.createServer((req, res) => res.end(`hello ${args.tag}\n`));
  server.listen(0, '127.0.0.1', () => {
    const url = `http://127.0.0.1:${server.address().port}/hello?main=${args.tag}`;
    setInterval(() => {
      fetch(url).then((r) => r.text()).catch((e) => console.error(`devtools-app: ${url}: ${e.message}`));
    }, args.fetchEvery);
    console.log(`devtools-app ${args.tag} fetches ${url} every ${args.fetchEvery} ms`);
  });
}
