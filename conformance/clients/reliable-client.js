#!/usr/bin/env node
// A small "reliable messaging" WebSocket client, written as the reference client of
// wsspec's `reliable-client` profile (conformance/profiles/reliable-client/). wsspec
// plays its server.
//
// Protocol (the shape such clients usually take): every message is one JSON text frame
//   {"id": "...", "type": "DATA" | "ACK" | "HEARTBEAT", "data": ..., "timestamp": ms}
// * DATA: the client sends `--messages N` messages m1..mN, one every `--send-every-ms`
//   from its first connection on, whether connected or not (queued while offline). Each
//   DATA is kept until the server answers {"type":"ACK","id":<its id>}; without an ACK
//   within `--ack-timeout-ms` it is sent again with the same id, at most `--max-retries`
//   times, then given up (logged). DATA from the server is ACKed by id.
// * HEARTBEAT: every `--heartbeat-ms` the client sends {"type":"HEARTBEAT","id":"hb-K"};
//   the server answers with a HEARTBEAT (any id). With no answer for
//   `--heartbeat-misses` intervals the peer counts as dead: the socket is terminated and
//   the client reconnects.
// * Reconnect: after any close, error or refused handshake the client reconnects after
//   base * 2^attempt ms (base `--backoff-ms`, capped at `--backoff-max-ms`); the attempt
//   count resets once a connection opens. Unacknowledged messages are replayed after the
//   reconnect, once, in their original order and with their original ids.
//
// Fault switches (`--faults a,b`), each breaking one part of that contract:
//   no_retry          an unacknowledged DATA is never sent again
//   no_backoff        reconnects come at a constant 20 ms, without growth
//   no_replay         messages not acknowledged when the connection dropped are lost
//   duplicate_replay  each replayed message is sent twice
//   no_heartbeat      no HEARTBEAT is ever sent (and no dead-peer detection)
//
// Output: one line per event on stdout; "reliable-client started" once the first
// connection attempt is under way (wsspec's readiness line). It exits on SIGTERM/SIGINT.
// The url must be on 127.0.0.1 / localhost / ::1: the client refuses anything else.
'use strict';

const path = require('path');

function loadWs() {
  const here = __dirname;
  const candidates = [
    path.join(here, '..', 'servers', 'node_modules', 'ws'),
    'ws',
  ];
  for (const c of candidates) {
    try {
      return require(c);
    } catch (_) {
      /* next */
    }
  }
  console.error('reliable-client: the npm package "ws" is missing; run conformance/servers/ensure-installed.sh');
  process.exit(2);
}

const FAULTS = ['no_retry', 'no_backoff', 'no_replay', 'duplicate_replay', 'no_heartbeat'];

function parseArgs(argv) {
  const o = {
    url: null,
    messages: 3,
    sendEveryMs: 200,
    ackTimeoutMs: 500,
    maxRetries: 3,
    heartbeatMs: 300,
    heartbeatMisses: 3,
    backoffMs: 100,
    backoffMaxMs: 1600,
    faults: new Set(),
  };
  const num = (k, v) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) {
      console.error(`reliable-client: ${k} needs a number >= 0, got ${JSON.stringify(v)}`);
      process.exit(2);
    }
    return n;
  };
  for (let i = 2; i < argv.length; i++) {
    const k = argv[i];
    const v = argv[i + 1];
    switch (k) {
      case '--url': o.url = v; i++; break;
      case '--messages': o.messages = num(k, v); i++; break;
      case '--send-every-ms': o.sendEveryMs = num(k, v); i++; break;
      case '--ack-timeout-ms': o.ackTimeoutMs = num(k, v); i++; break;
      case '--max-retries': o.maxRetries = num(k, v); i++; break;
      case '--heartbeat-ms': o.heartbeatMs = num(k, v); i++; break;
      case '--heartbeat-misses': o.heartbeatMisses = num(k, v); i++; break;
      case '--backoff-ms': o.backoffMs = num(k, v); i++; break;
      case '--backoff-max-ms': o.backoffMaxMs = num(k, v); i++; break;
      case '--faults':
        for (const f of String(v || '').split(',').map((s) => s.trim()).filter(Boolean)) {
          if (!FAULTS.includes(f)) {
            console.error(`reliable-client: unknown fault ${JSON.stringify(f)}; known: ${FAULTS.join(', ')}`);
            process.exit(2);
          }
          o.faults.add(f);
        }
        i++;
        break;
      default:
        console.error(`reliable-client: unknown option ${JSON.stringify(k)}`);
        process.exit(2);
    }
  }
  if (!o.url) {
    console.error('reliable-client: --url ws://127.0.0.1:PORT/ is required');
    process.exit(2);
  }
  const host = new URL(o.url).hostname.replace(/^\[|\]$/g, '');
  if (!(host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host))) {
    console.error(`reliable-client: ${o.url} is not on this machine; refusing`);
    process.exit(2);
  }
  return o;
}

const o = parseArgs(process.argv);
const WebSocket = loadWs();
const has = (f) => o.faults.has(f);
const log = (s) => process.stdout.write(`${s}\n`);

let ws = null;
let attempt = 0; // failed attempts since the last open
let connectedOnce = false;
let stopping = false;
let nextId = 1;
let hbSeq = 0;
let lastHeartbeatAnswer = 0;
let hbTimer = null;
let reconnectTimer = null;
// id -> {msg, retries, timer}; Map keeps insertion (= send) order.
const pending = new Map();
let sendTimer = null;

function isOpen() {
  return ws && ws.readyState === WebSocket.OPEN;
}

function write(msg) {
  if (!isOpen()) return false;
  ws.send(JSON.stringify(msg));
  return true;
}

function armRetry(entry) {
  clearTimeout(entry.timer);
  if (has('no_retry')) return;
  entry.timer = setTimeout(() => {
    if (!pending.has(entry.msg.id)) return;
    if (entry.retries >= o.maxRetries) {
      log(`gave up on ${entry.msg.id} after ${entry.retries} retries`);
      pending.delete(entry.msg.id);
      return;
    }
    if (isOpen()) {
      entry.retries += 1;
      log(`retry ${entry.retries} of ${entry.msg.id}`);
      write(entry.msg);
    }
    armRetry(entry);
  }, o.ackTimeoutMs);
}

function produce() {
  if (nextId > o.messages) {
    clearInterval(sendTimer);
    return;
  }
  const id = `m${nextId++}`;
  const msg = { id, type: 'DATA', data: { seq: nextId - 1 }, timestamp: Date.now() };
  const entry = { msg, retries: 0, timer: null };
  pending.set(id, entry);
  if (write(msg)) {
    log(`sent ${id}`);
    armRetry(entry);
  } else {
    log(`queued ${id} (offline)`);
  }
}

function startHeartbeat() {
  clearInterval(hbTimer);
  if (has('no_heartbeat')) return;
  lastHeartbeatAnswer = Date.now();
  hbTimer = setInterval(() => {
    if (!isOpen()) return;
    if (Date.now() - lastHeartbeatAnswer > o.heartbeatMs * o.heartbeatMisses) {
      log('heartbeat unanswered: the server counts as dead, reconnecting');
      clearInterval(hbTimer);
      ws.terminate();
      return;
    }
    hbSeq += 1;
    write({ id: `hb-${hbSeq}`, type: 'HEARTBEAT', data: null, timestamp: Date.now() });
  }, o.heartbeatMs);
}

function replay() {
  if (has('no_replay')) {
    for (const e of pending.values()) clearTimeout(e.timer);
    if (pending.size) log(`dropped ${pending.size} unacknowledged message(s)`);
    pending.clear();
    return;
  }
  for (const e of pending.values()) {
    write(e.msg);
    if (has('duplicate_replay')) write(e.msg);
    log(`replayed ${e.msg.id}`);
    e.retries = 0;
    armRetry(e);
  }
}

function scheduleReconnect() {
  if (stopping || reconnectTimer) return;
  const delay = has('no_backoff') ? 20 : Math.min(o.backoffMs * 2 ** attempt, o.backoffMaxMs);
  attempt += 1;
  log(`reconnect in ${delay} ms (attempt ${attempt})`);
  reconnectTimer = setTimeout(() => {
    reconnectTimer = null;
    connect();
  }, delay);
}

function connect() {
  if (stopping) return;
  const sock = new WebSocket(o.url, { handshakeTimeout: 2000 });
  ws = sock;
  sock.on('open', () => {
    attempt = 0;
    log('connected');
    if (!connectedOnce) {
      connectedOnce = true;
      if (o.messages > 0) {
        produce();
        sendTimer = setInterval(produce, o.sendEveryMs);
      }
    } else {
      replay();
    }
    startHeartbeat();
  });
  sock.on('message', (data) => {
    let m;
    try {
      m = JSON.parse(String(data));
    } catch (_) {
      log(`ignored a message that is not JSON: ${String(data).slice(0, 60)}`);
      return;
    }
    if (!m || typeof m !== 'object') return;
    if (m.type === 'ACK') {
      const e = pending.get(m.id);
      if (e) {
        clearTimeout(e.timer);
        pending.delete(m.id);
        log(`acked ${m.id}`);
      }
    } else if (m.type === 'HEARTBEAT') {
      lastHeartbeatAnswer = Date.now();
    } else if (m.type === 'DATA') {
      write({ id: m.id, type: 'ACK', data: null, timestamp: Date.now() });
    }
  });
  sock.on('unexpected-response', (_req, res) => {
    log(`refused with HTTP ${res.statusCode}`);
    sock.terminate();
  });
  sock.on('error', (e) => log(`error: ${e.code || e.message}`));
  sock.on('close', (code) => {
    if (ws !== sock) return;
    clearInterval(hbTimer);
    for (const e of pending.values()) clearTimeout(e.timer);
    log(`closed ${code}`);
    scheduleReconnect();
  });
}

function stop() {
  stopping = true;
  clearInterval(hbTimer);
  clearInterval(sendTimer);
  clearTimeout(reconnectTimer);
  for (const e of pending.values()) clearTimeout(e.timer);
  if (ws) ws.terminate();
  log('stopped');
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

log(`reliable-client started pid=${process.pid} faults=${[...o.faults].join(',') || 'none'}`);
connect();
