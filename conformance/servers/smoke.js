#!/usr/bin/env node
// Smoke check of the servers in this folder: starts each one on 127.0.0.1,
// checks that it really behaves as wsspec's protocol notes say (greeting,
// handshake refusal, one HMR round trip, loopback-only listeners), stops it by
// pid and checks that the process is gone. Also measures spawn -> ready time.
//
// Usage: node smoke.js [echo|vite|wds|broker|all] [--runs N]
//   --runs N  start each server N times (default 1) and report min/median/max
//             start-up times; the full checks run on the first start only.
//   --copy    run vite-app and wds-app from copies in a temporary folder (how
//             parallel tests that edit files should use them).
// Exit code 0 only if every check passed. Last line: `N passed, N failed`.
// Edited probe files are restored, and every started process is killed, even
// when a check fails or the script is interrupted.
'use strict';

const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const WebSocket = require('ws');

const HERE = __dirname;
const NODE = process.execPath;
const LOOPBACK_PRELOAD = path.join(HERE, 'loopback-only.cjs');
const STEP_MS = 10000; // bound on every single wait below
const MAX_LOG = 1 << 20; // bytes of server output kept for diagnostics

// Probe projects; `--copy` points these at copies in a temporary folder.
const APPS = { 'vite-app': path.join(HERE, 'vite-app'), 'wds-app': path.join(HERE, 'wds-app') };
let copyRoot = null;

let passed = 0;
let failed = 0;
const running = new Set(); // child processes to kill on the way out
const edited = new Map(); // file -> original content, restored on the way out

function check(name, ok, detail = '') {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? ` (${detail})` : ''}`);
  return ok;
}

function ms(start) {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const sleep = (n) => new Promise((r) => setTimeout(r, n));

/** Rejects with `what` if `promise` has not settled within `limit` ms. */
function within(limit, what, promise) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${limit} ms: ${what}`)), limit);
    }),
  ]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------- processes

/**
 * Spawns a server and waits until `ready` matches its (ANSI-stripped) stdout
 * or stderr and `port` has been found. Resolves {child, port, readyMs, log}.
 */
function startServer({ args, cwd, env = {}, ready, port, timeoutMs = 30000 }) {
  const t0 = process.hrtime.bigint();
  const child = spawn(NODE, args, {
    cwd,
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  const log = { out: '', err: '' };
  return new Promise((resolve, reject) => {
    let found = null;
    let done = false;
    const timer = setTimeout(() => {
      finish(new Error(`not ready within ${timeoutMs} ms; output:\n${log.out}${log.err}`));
    }, timeoutMs);
    const finish = (err) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      child.removeListener('exit', onExit);
      if (err) {
        child.kill('SIGKILL');
        reject(err);
      } else {
        resolve({ child, port: found, readyMs: ms(t0), log });
      }
    };
    const scan = () => {
      const text = log.out + log.err;
      if (found === null) {
        const m = port.exec(text);
        if (m) found = Number(m[1]);
      }
      if (found !== null && ready.test(text)) finish(null);
    };
    // The listeners stay after readiness so the child never blocks on a full pipe.
    const append = (key) => (chunk) => {
      // eslint-disable-next-line no-control-regex
      log[key] = (log[key] + chunk.toString().replace(/\x1b\[[0-9;]*m/g, '')).slice(-MAX_LOG);
      if (!done) scan();
    };
    const onExit = (code, sig) => finish(new Error(`exited early (code ${code}, signal ${sig}); output:\n${log.out}${log.err}`));
    child.stdout.on('data', append('out'));
    child.stderr.on('data', append('err'));
    child.once('exit', onExit);
  });
}

/** SIGTERM by pid, bounded wait, SIGKILL fallback; reports whether it is gone. */
async function stopServer(child) {
  const t0 = process.hrtime.bigint();
  const exited = new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve([child.exitCode, child.signalCode]);
    else child.once('exit', (code, sig) => resolve([code, sig]));
  });
  process.kill(child.pid, 'SIGTERM');
  let result = await Promise.race([exited, sleep(5000).then(() => null)]);
  let killed = false;
  if (result === null) {
    killed = true;
    process.kill(child.pid, 'SIGKILL');
    result = await Promise.race([exited, sleep(2000).then(() => [null, 'still running'])]);
  }
  let gone;
  try {
    process.kill(child.pid, 0);
    gone = false;
  } catch (err) {
    gone = err.code === 'ESRCH';
  }
  return { code: result[0], signal: result[1], stopMs: ms(t0), killed, gone };
}

/** TCP listeners owned by `pid`, from `ss`; null if ss is unavailable. */
function listenersOf(pid) {
  let text;
  try {
    text = execFileSync('ss', ['-ltnpH'], { encoding: 'utf8', timeout: 5000 });
  } catch {
    return null;
  }
  return text
    .split('\n')
    .filter((l) => l.includes(`pid=${pid},`))
    .map((l) => l.trim().split(/\s+/)[3]);
}

function checkLoopbackOnly(name, pid, expectPort) {
  const addrs = listenersOf(pid);
  if (addrs === null) {
    console.log(`NOT RUN ${name}: listeners on 127.0.0.1 only (ss not available)`);
    return;
  }
  const ok = addrs.length > 0 && addrs.every((a) => a.startsWith('127.0.0.1:'));
  const hasPort = expectPort === undefined || addrs.includes(`127.0.0.1:${expectPort}`);
  check(`${name}: listens on 127.0.0.1 only`, ok && hasPort, addrs.join(' ') || 'no listener found');
}

function reportStop(name, stop, expectCodes) {
  check(
    `${name}: SIGTERM stops it and the pid is gone`,
    stop.gone && !stop.killed && expectCodes.includes(stop.code),
    `exit code ${stop.code}, signal ${stop.signal}, ${stop.stopMs.toFixed(0)} ms${stop.killed ? ', needed SIGKILL' : ''}`,
  );
}

// ---------------------------------------------------------------- websockets

/**
 * Opens a client and queues its events. `next()` resolves the next message or
 * close event ({close: code, reason}), bounded by STEP_MS.
 */
function openClient(url, { protocols, headers } = {}) {
  const ws = new WebSocket(url, protocols, { headers, handshakeTimeout: STEP_MS });
  const queue = [];
  const waiters = [];
  const push = (ev) => {
    const w = waiters.shift();
    if (w) w(ev);
    else queue.push(ev);
  };
  ws.on('message', (data, isBinary) => push({ data: isBinary ? data : data.toString(), isBinary }));
  ws.on('close', (code, reason) => push({ close: code, reason: reason.toString() }));
  ws.on('error', (err) => push({ error: err.message }));
  const opened = new Promise((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (req, res) => {
      reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { statusCode: res.statusCode }));
      req.destroy();
    });
    ws.once('error', reject);
  });
  const next = (what = 'next message') =>
    within(STEP_MS, what, new Promise((resolve) => (queue.length ? resolve(queue.shift()) : waiters.push(resolve))));
  return { ws, opened: within(STEP_MS, `open ${url}`, opened), next };
}

/** Waits for the first JSON message satisfying `pred`; returns it and its latency. */
async function waitJson(client, pred, what, since) {
  for (let i = 0; i < 50; i++) {
    const ev = await client.next(what);
    if (ev.close !== undefined || ev.error) throw new Error(`${what}: socket ended (${JSON.stringify(ev)})`);
    let msg;
    try {
      msg = JSON.parse(ev.data);
    } catch {
      continue;
    }
    if (pred(msg)) return { msg, latencyMs: since ? ms(since) : undefined };
  }
  throw new Error(`${what}: not among the next 50 messages`);
}

// Vite's bundled chokidar drops (not defers) a second `change` event for the
// same path within 50 ms of the previous one, so writes to one file are spaced.
const WRITE_GAP_MS = 150;
const lastWrite = new Map(); // file -> hrtime of our last write

async function writeSpaced(file, content) {
  const last = lastWrite.get(file);
  if (last !== undefined) {
    const wait = WRITE_GAP_MS - ms(last);
    if (wait > 0) await sleep(wait);
  }
  fs.writeFileSync(file, content);
  const t = process.hrtime.bigint();
  lastWrite.set(file, t);
  return t;
}

async function editFile(file, content) {
  if (!edited.has(file)) edited.set(file, fs.readFileSync(file, 'utf8'));
  return writeSpaced(file, content);
}

async function restoreFile(file) {
  const original = edited.get(file);
  if (original === undefined) return null;
  const t = await writeSpaced(file, original);
  edited.delete(file);
  return t;
}

/** Synchronous restore for the exit path, where nothing async can run. */
function restoreAllNow() {
  for (const [file, original] of edited) {
    try {
      fs.writeFileSync(file, original);
    } catch {
      /* best effort on the way out */
    }
  }
  edited.clear();
}

async function guarded(name, fn) {
  try {
    await fn();
  } catch (err) {
    check(name, false, err.message.split('\n').slice(0, 6).join(' / '));
  }
}

// ---------------------------------------------------------------- servers

const SERVERS = {
  echo: {
    spec: () => ({
      args: [path.join(HERE, 'ws-echo.js'), '--port', '0'],
      cwd: HERE,
      ready: /^LISTENING \d+$/m,
      port: /^LISTENING (\d+)$/m,
    }),
    expectExit: [0],
    async checks(srv) {
      await guarded('echo: text and binary echoed', async () => {
        const c = openClient(`ws://127.0.0.1:${srv.port}/`);
        await c.opened;
        c.ws.send('héllo ✓');
        c.ws.send(Buffer.from([0, 1, 2, 0xff]));
        const a = await c.next();
        const b = await c.next();
        check('echo: text -> text', a.isBinary === false && a.data === 'héllo ✓', JSON.stringify(a.data));
        check('echo: binary -> binary', b.isBinary === true && b.data.equals(Buffer.from([0, 1, 2, 0xff])));
        c.ws.close(1000, 'bye');
        const cl = await c.next('close');
        check('echo: close 1000 echoed', cl.close === 1000 && cl.reason === 'bye', JSON.stringify(cl));
      });
    },
  },

  vite: {
    spec: () => ({
      // The preload turns Vite's brief wildcard port probes into 127.0.0.1 ones.
      args: ['-r', LOOPBACK_PRELOAD, path.join(HERE, 'node_modules/vite/bin/vite.js')],
      cwd: APPS['vite-app'],
      env: { PORT: '0' },
      ready: /ready in \d+ ms[\s\S]*Local:\s+http:\/\/127\.0\.0\.1:\d+\//,
      port: /Local:\s+http:\/\/127\.0\.0\.1:(\d+)\//,
    }),
    // Vite's SIGTERM hook closes the server and exits with 128+15.
    expectExit: [143, 0],
    async checks(srv) {
      const base = `http://127.0.0.1:${srv.port}`;
      const wsUrl = `ws://127.0.0.1:${srv.port}/`;
      let hmr;
      await guarded('vite: greeting without Origin', async () => {
        hmr = openClient(wsUrl, { protocols: ['vite-hmr'] });
        await hmr.opened;
        check('vite: subprotocol vite-hmr echoed', hmr.ws.protocol === 'vite-hmr', hmr.ws.protocol);
        const first = await hmr.next('connected');
        check('vite: first message {"type":"connected"}', first.data === '{"type":"connected"}', first.data);
      });
      await guarded('vite: token handshake', async () => {
        const client = await within(STEP_MS, 'GET /@vite/client', fetch(`${base}/@vite/client`).then((r) => r.text()));
        const m = /const wsToken = "([^"]+)";/.exec(client);
        check('vite: /@vite/client carries wsToken', m !== null, m ? m[1] : 'not found');
        if (!m) return;
        const origin = { Origin: base };
        const good = openClient(`${wsUrl}?token=${encodeURIComponent(m[1])}`, { protocols: ['vite-hmr'], headers: origin });
        await good.opened;
        const first = await good.next('connected');
        check('vite: Origin + valid token -> connected', first.data === '{"type":"connected"}', first.data);
        good.ws.terminate();
        const bad = openClient(`${wsUrl}?token=wrong`, { protocols: ['vite-hmr'], headers: origin });
        const status = await bad.opened.then(() => 101, (err) => err.statusCode ?? err.message);
        check('vite: Origin + wrong token -> HTTP 400', status === 400, String(status));
      });
      await guarded('vite: HMR round trip', async () => {
        if (!hmr) throw new Error('no HMR socket');
        // Vite only reacts to edits of modules that were requested since their
        // last change, so load the page's module graph as a browser would.
        const loadPage = async () => {
          for (const p of ['/', '/src/main.js', '/src/dep.js', '/src/plain.js', '/src/self.js', '/src/style.css']) {
            const r = await within(STEP_MS, `GET ${p}`, fetch(base + p));
            await r.arrayBuffer();
            if (!r.ok) throw new Error(`GET ${p} -> ${r.status}`);
          }
        };
        await loadPage();
        const dep = path.join(APPS['vite-app'], 'src/dep.js');
        let t = await editFile(dep, "export const dep = 'dep v2 (smoke)';\n");
        const upd = await waitJson(hmr, (m) => m.type === 'update', 'update after dep.js edit', t);
        const u = upd.msg.updates?.[0] ?? {};
        check(
          'vite: edit dep.js -> update (path /src/main.js, acceptedPath /src/dep.js)',
          u.type === 'js-update' && u.path === '/src/main.js' && u.acceptedPath === '/src/dep.js',
          `${upd.latencyMs.toFixed(1)} ms: ${JSON.stringify(upd.msg).slice(0, 200)}`,
        );
        // Re-import like the browser runtime, then put the file back.
        await within(STEP_MS, 're-import', fetch(`${base}/src/dep.js?t=${u.timestamp}`).then((r) => r.arrayBuffer()));
        t = await restoreFile(dep);
        const back = await waitJson(hmr, (m) => m.type === 'update', 'update after dep.js restore', t);
        check('vite: restore dep.js -> update', true, `${back.latencyMs.toFixed(1)} ms`);

        const plain = path.join(APPS['vite-app'], 'src/plain.js');
        t = await editFile(plain, "export const plain = 'plain v2 (smoke)';\n");
        const fr = await waitJson(hmr, (m) => m.type === 'full-reload', 'full-reload after plain.js edit', t);
        check(
          'vite: edit plain.js -> full-reload',
          typeof fr.msg.triggeredBy === 'string' && fr.msg.triggeredBy.endsWith('/src/plain.js') && fr.msg.path === '*',
          `${fr.latencyMs.toFixed(1)} ms`,
        );
        await loadPage(); // the browser's reload
        t = await restoreFile(plain);
        await waitJson(hmr, (m) => m.type === 'full-reload', 'full-reload after plain.js restore', t);
      });
      if (hmr) hmr.ws.terminate();
    },
  },

  wds: {
    spec: () => ({
      args: [path.join(HERE, 'node_modules/webpack-cli/bin/cli.js'), 'serve'],
      cwd: APPS['wds-app'],
      env: { PORT: '0' },
      ready: /compiled successfully in \d+ ms/,
      port: /Loopback: http:\/\/127\.0\.0\.1:(\d+)\//,
    }),
    expectExit: [0],
    async checks(srv) {
      const wsUrl = `ws://127.0.0.1:${srv.port}/ws`;
      let hmr;
      let firstHash;
      await guarded('wds: greeting', async () => {
        hmr = openClient(wsUrl, { headers: { Origin: `http://127.0.0.1:${srv.port}` } });
        await hmr.opened;
        const got = [];
        for (let i = 0; i < 6; i++) got.push(JSON.parse((await hmr.next('greeting')).data));
        const types = got.map((m) => m.type).join(',');
        firstHash = got[4]?.data;
        check(
          'wds: greeting hot, liveReload, reconnect 10, overlay, hash, ok',
          types === 'hot,liveReload,reconnect,overlay,hash,ok' &&
            got[2].data === 10 &&
            /^[0-9a-f]{20}$/.test(firstHash ?? ''),
          JSON.stringify(got),
        );
      });
      await guarded('wds: no Origin refused after 101', async () => {
        const c = openClient(wsUrl);
        await c.opened;
        const err = await c.next('error message');
        const cl = await c.next('close');
        check(
          'wds: no Origin -> error message, then close without status (1005)',
          err.data === '{"type":"error","data":"Invalid Host/Origin header"}' && cl.close === 1005,
          `${err.data} / ${JSON.stringify(cl)}`,
        );
      });
      await guarded('wds: HMR round trip', async () => {
        if (!hmr) throw new Error('no HMR socket');
        const dep = path.join(APPS['wds-app'], 'src/dep.js');
        let t = await editFile(dep, "export const dep = 'dep v2 (smoke)';\n");
        const inv = await waitJson(hmr, (m) => m.type === 'invalid', 'invalid after dep.js edit', t);
        const hash = await waitJson(hmr, (m) => m.type === 'hash', 'hash after dep.js edit', t);
        const ok = await waitJson(hmr, (m) => m.type === 'ok', 'ok after dep.js edit', t);
        check(
          'wds: edit dep.js -> invalid, hash (new), ok',
          hash.msg.data !== firstHash,
          `invalid ${inv.latencyMs.toFixed(1)} ms, ok ${ok.latencyMs.toFixed(1)} ms, hash ${hash.msg.data}`,
        );
        t = await restoreFile(dep);
        await waitJson(hmr, (m) => m.type === 'invalid', 'invalid after restore', t);
        const back = await waitJson(hmr, (m) => m.type === 'hash', 'hash after restore', t);
        const ok2 = await waitJson(hmr, (m) => m.type === 'ok', 'ok after restore', t);
        check('wds: restore dep.js -> invalid, hash, ok', true, `${ok2.latencyMs.toFixed(1)} ms, hash ${back.msg.data}`);
      });
      if (hmr) hmr.ws.terminate();
    },
  },

  broker: {
    spec: ({ cwd } = {}) => ({
      args: [path.join(HERE, 'mf-broker.js')],
      cwd: cwd ?? HERE,
      env: cwd ? { FEDERATION_DEBUG: 'true' } : {},
      ready: /^LISTENING 16322$/m,
      port: /^LISTENING (\d+)$/m,
    }),
    expectExit: [0],
    // Runs with FEDERATION_DEBUG in a scratch cwd to prove env pass-through.
    scratch: true,
    async checks(srv) {
      const MAGIC = 'WEB_SOCKET_CONNECT_MAGIC_ID=1hpzW-zo2z-o8io-gfmV1-2cb1d82';
      const url = `ws://127.0.0.1:16322/?${MAGIC}`;
      const tar = 'http://127.0.0.1:40001/@mf-types.zip';
      const action = (kind, payload) => JSON.stringify({ type: 'Action', kind, time: Date.now(), payload });
      srv.sub = null;
      await guarded('broker: publish/subscribe', async () => {
        const pub = openClient(url);
        await pub.opened;
        pub.ws.send(action('ADD_PUBLISHER', { name: 'remote', ip: '127.0.0.1', remoteTypeTarPath: tar }));
        const sub = openClient(url);
        await sub.opened;
        srv.sub = sub;
        sub.ws.send(action('ADD_SUBSCRIBER', { name: 'host', ip: '127.0.0.1', publishers: [{ name: 'remote', ip: '127.0.0.1' }] }));
        const attach = await waitJson(sub, (m) => m.kind === 'UPDATE_SUBSCRIBER', 'attach update');
        check(
          'broker: magic-id URL accepted; ADD_SUBSCRIBER -> PASSIVE UPDATE_SUBSCRIBER',
          attach.msg.type === 'API' && attach.msg.payload?.updateMode === 'PASSIVE' && attach.msg.payload?.remoteTypeTarPath === tar,
          JSON.stringify(attach.msg).slice(0, 200),
        );
        pub.ws.send(
          action('UPDATE_PUBLISHER', {
            name: 'remote',
            ip: '127.0.0.1',
            updateMode: 'POSITIVE',
            updateKind: 'UPDATE_TYPE',
            updateSourcePaths: ['remote'],
            remoteTypeTarPath: tar,
          }),
        );
        const upd = await waitJson(sub, (m) => m.kind === 'UPDATE_SUBSCRIBER', 'fan-out update');
        check('broker: UPDATE_PUBLISHER fans out (POSITIVE)', upd.msg.payload?.updateMode === 'POSITIVE', JSON.stringify(upd.msg.payload));
      });
      await guarded('broker: wrong magic id', async () => {
        const bad = openClient('ws://127.0.0.1:16322/?WEB_SOCKET_CONNECT_MAGIC_ID=nope');
        await bad.opened;
        const text = await bad.next('rejection text');
        const cl = await bad.next('close');
        check('broker: wrong magic id -> "Invalid CONNECT ID." then close 1005', text.data === 'Invalid CONNECT ID.' && cl.close === 1005, `${text.data} / ${cl.close}`);
      });
    },
    // Runs after SIGTERM: the subscriber should have seen the exit log, then 1006.
    async afterStop(srv) {
      if (!srv.sub) return;
      await guarded('broker: exit broadcast', async () => {
        const log = await srv.sub.next('exit log');
        const cl = await srv.sub.next('close');
        let inner = null;
        try {
          inner = JSON.parse(JSON.parse(log.data));
        } catch {
          /* reported below */
        }
        check(
          'broker: SIGTERM -> double-encoded BrokerExitLog, then 1006',
          inner?.kind === 'BrokerExitLog' && cl.close === 1006,
          `${String(log.data).slice(0, 60)} / ${cl.close}`,
        );
      });
    },
  },
};

function stats(list) {
  const s = [...list].sort((a, b) => a - b);
  const med = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  return `min ${s[0].toFixed(0)} / median ${med.toFixed(0)} / max ${s[s.length - 1].toFixed(0)} ms over ${s.length}`;
}

async function runServer(name, runs) {
  const def = SERVERS[name];
  const times = [];
  for (let run = 0; run < runs; run++) {
    const scratch = def.scratch && run === 0 ? fs.mkdtempSync(path.join(os.tmpdir(), `wsspec-${name}-`)) : undefined;
    let srv;
    try {
      srv = await startServer(def.spec({ cwd: scratch }));
    } catch (err) {
      check(`${name}: start (run ${run + 1})`, false, err.message.split('\n').slice(0, 8).join(' / '));
      continue;
    }
    times.push(srv.readyMs);
    if (run === 0) {
      check(`${name}: ready line seen`, true, `port ${srv.port}, ${srv.readyMs.toFixed(0)} ms after spawn`);
      checkLoopbackOnly(name, srv.child.pid, srv.port);
      await def.checks(srv);
    }
    for (const f of [...edited.keys()]) await restoreFile(f);
    const stop = await stopServer(srv.child);
    if (run === 0) {
      reportStop(name, stop, def.expectExit);
      if (def.afterStop) await def.afterStop(srv);
      if (scratch) {
        const logFile = path.join(scratch, '.mf', 'typesGenerate.log');
        const text = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '';
        check(`${name}: FEDERATION_DEBUG passed through (log in cwd/.mf)`, text.includes('ADD_PUBLISHER'), `${text.length} bytes`);
      }
    } else if (!stop.gone) {
      check(`${name}: stopped (run ${run + 1})`, false, JSON.stringify(stop));
    }
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  }
  if (times.length) console.log(`     ${name}: spawn -> ready ${stats(times)}`);
}

function cleanup() {
  restoreAllNow();
  if (copyRoot) fs.rmSync(copyRoot, { recursive: true, force: true });
  for (const child of running) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

async function main() {
  const argv = process.argv.slice(2);
  let runs = 1;
  const names = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--copy') {
      copyRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'wsspec-apps-'));
      for (const app of Object.keys(APPS)) {
        const dst = path.join(copyRoot, app);
        fs.cpSync(APPS[app], dst, { recursive: true });
        APPS[app] = dst;
      }
      console.log(`     probe projects copied to ${copyRoot}`);
    } else if (argv[i] === '--runs') {
      runs = Number(argv[++i]);
      if (!Number.isInteger(runs) || runs < 1 || runs > 50) throw new Error('--runs expects 1..50');
    } else if (argv[i] === 'all') names.push(...Object.keys(SERVERS));
    else if (SERVERS[argv[i]]) names.push(argv[i]);
    else throw new Error(`unknown argument '${argv[i]}' (expected ${Object.keys(SERVERS).join('|')}|all, --runs N, --copy)`);
  }
  if (!names.length) names.push(...Object.keys(SERVERS));
  for (const name of names) await runServer(name, runs);
}

process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    cleanup();
    process.exit(130);
  });
}

main()
  .catch((err) => check('smoke', false, err.message))
  .finally(() => {
    console.log(`${passed} passed, ${failed} failed`);
    process.exitCode = failed ? 1 : 0;
    // Client sockets and timers must not keep us alive.
    setTimeout(() => process.exit(process.exitCode), 100).unref();
  });
