#!/usr/bin/env node
// Runs the real Module Federation DTS broker (@module-federation/dts-plugin)
// standalone, confined to 127.0.0.1, for wsspec's broker scenarios.
//
// Usage: node mf-broker.js      (no arguments: the broker's port is fixed)
// Prints exactly one line `LISTENING 16322` on stdout once 127.0.0.1:16322
// accepts a TCP connection. The broker's own messages go to stderr. SIGTERM or
// SIGINT: the broker broadcasts its exit log and exits 0 (its own handler).
// Env is the broker's own (FEDERATION_DEBUG, FEDERATION_SERVER_TEST, …);
// WSSPEC_BROKER_READY_MS bounds the wait for the port (default 10000).
'use strict';

// Before anything can listen: the broker binds all interfaces otherwise.
// Idempotent, so `node -r ./loopback-only.cjs mf-broker.js` works as well.
require('./loopback-only.cjs');

const net = require('node:net');

const PORT = 16322; // Broker.DEFAULT_WEB_SOCKET_PORT, not configurable
const HOST = '127.0.0.1';

function fail(msg) {
  process.stderr.write(`mf-broker: ${msg}\n`);
  process.exit(1);
}

const readyMs = Number(process.env.WSSPEC_BROKER_READY_MS ?? 10000);
if (!Number.isFinite(readyMs) || readyMs <= 0) {
  fail(`WSSPEC_BROKER_READY_MS must be a positive number of ms, got '${process.env.WSSPEC_BROKER_READY_MS}'`);
}
if (process.argv.length > 2) fail(`takes no arguments (the port is fixed at ${PORT}), got: ${process.argv.slice(2).join(' ')}`);

/** Resolves true if something accepts a TCP connection on HOST:PORT. */
function probe() {
  return new Promise((resolve) => {
    const sock = net.connect({ host: HOST, port: PORT });
    const done = (up) => {
      sock.destroy();
      resolve(up);
    };
    sock.setTimeout(500, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

async function main() {
  // The port is fixed machine-wide, so a leftover broker (or a developer's dev
  // server) would otherwise answer our readiness probe and our tests.
  if (await probe()) fail(`${HOST}:${PORT} is already in use; stop whatever holds it (\`ss -ltnp 'sport = :${PORT}'\`)`);

  let entry;
  try {
    entry = require.resolve('@module-federation/dts-plugin/dist/start-broker.js');
  } catch (err) {
    fail(`@module-federation/dts-plugin is not installed (${err.message}); run ./ensure-installed.sh`);
  }
  // start-broker.js waits for the IPC message "start" from the plugin's fork;
  // without IPC we deliver the same event ourselves (process.send is absent,
  // so its "ready" reply is skipped).
  require(entry);
  process.emit('message', 'start');

  // The broker never reports that listen() finished, so poll the port.
  const deadline = Date.now() + readyMs;
  while (Date.now() < deadline) {
    if (await probe()) {
      process.stdout.write(`LISTENING ${PORT}\n`);
      return;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  fail(`broker did not accept connections on ${HOST}:${PORT} within ${readyMs} ms`);
}

main().catch((err) => fail(err.stack || String(err)));
