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
// Usage: node devtools-app.js --port CORE_PORT --server-port DEVTOOLS_PORT
// Output: "devtools-app started pid=N" after register() (wsspec's ready line).
// SIGTERM: exits 0.
'use strict';

const path = require('path');

const args = { port: 0, serverPort: 0 };
for (let i = 2; i < process.argv.length; i += 2) {
  const k = process.argv[i];
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v <= 0 || v > 65535) {
    console.error(`devtools-app: ${k} needs a port number`);
    process.exit(2);
  }
  if (k === '--port') args.port = v;
  else if (k === '--server-port') args.serverPort = v;
  else {
    console.error(`devtools-app: unknown option ${JSON.stringify(k)}`);
    process.exit(2);
  }
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
nnd.register({ port: args.port, serverPort: args.serverPort, autoOpenDevtool: false });
process.on('SIGTERM', () => process.exit(0));
console.log(`devtools-app started pid=${process.pid} port=${args.port}`);
