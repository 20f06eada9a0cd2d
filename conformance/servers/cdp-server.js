#!/usr/bin/env node
// Starts one real CDP-over-WebSocket server for wsspec's devtools profile, on
// 127.0.0.1, and prints one uniform ready line so the same scenario files run against
// either:
//   --kind nnd        node-network-devtools 1.0.30's fork (its DevTools port), standalone
//                     as shared/protocols/devtools-cdp.md 2.1 shows, kept on loopback by
//                     loopback-only.cjs (it binds every interface by itself), cwd cdp-proj/
//   --kind inspector  Node's own inspector, `node --inspect=127.0.0.1:0 cdp-proj/app.js`,
//                     the reference CDP server
//   --kind two-mains  no fork of its own: two app main processes
//                     (clients/devtools-app.js, tags `b` and `a`) register
//                     node-network-devtools at once with the same options while nothing
//                     listens on the core port, so the package forks its server itself
//                     (shared/protocols/devtools-cdp.md 2.7 `twomains`). Both load the
//                     package first; then b registers, and a as soon as b's register()
//                     returned (a few ms later; b's fork needs ~200 ms to listen). Both mains and
//                     the fork they start run with loopback-only.cjs preloaded (the fork
//                     inherits the main's execArgv and env), cwd cdp-proj/. Each main
//                     fetches from itself every 300 ms, tagged, so a DevTools client sees
//                     which mains are served. Ready when the fork's DevTools port accepts.
// nnd and two-mains set WSSPEC_LOOPBACK_LOG=1, so the preload prints the bind each
// listen asked for (`listen requested host=:: port=N -> 127.0.0.1`), which wsspec's
// `assert_listening` step reads.
// Ready line (stdout): `CDP READY port=<port> path=<WebSocket path>`. The child runs in
// this process's group, so stopping the group stops both; SIGTERM is passed on.
'use strict';

const path = require('path');
const net = require('net');
const { spawn } = require('child_process');

const kind = process.argv[2] === '--kind' ? process.argv[3] : null;
const here = __dirname;
const proj = path.join(here, 'cdp-proj');

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function waitListening(port, deadlineMs) {
  const end = Date.now() + deadlineMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const c = net.connect(port, '127.0.0.1');
      c.once('connect', () => { c.destroy(); resolve(); });
      c.once('error', () => {
        c.destroy();
        if (Date.now() > end) reject(new Error(`nothing listens on ${port}`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

let child = null;
const mains = [];
process.on('SIGTERM', () => {
  for (const c of [child, ...mains]) if (c) c.kill('SIGTERM');
  setTimeout(() => process.exit(0), 200);
});

const PRELOAD = path.join(here, 'loopback-only.cjs');
const LOGGED_ENV = { ...process.env, WSSPEC_LOOPBACK_LOG: '1' };

async function main() {
  if (kind === 'nnd') {
    const core = await freePort();
    const devtools = await freePort();
    const fork = path.join(here, 'node_modules', 'node-network-devtools', 'dist', 'fork.js');
    child = spawn(process.execPath, ['-r', PRELOAD, fork], {
      cwd: proj,
      env: {
        ...LOGGED_ENV,
        NETWORK_OPTIONS: JSON.stringify({ port: core, serverPort: devtools, autoOpenDevtool: false }),
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('exit', (code, sig) => {
      process.stdout.write(`cdp-server: the fork exited (${sig || code})\n`);
      process.exit(code == null ? 1 : code);
    });
    await waitListening(core, 10000);
    await waitListening(devtools, 1000);
    process.stdout.write(`CDP READY port=${devtools} path=/\n`);
  } else if (kind === 'inspector') {
    child = spawn(process.execPath, ['--inspect=127.0.0.1:0', path.join(proj, 'app.js')], {
      cwd: proj,
      stdio: ['ignore', 'inherit', 'pipe'],
    });
    let buf = '';
    child.stderr.on('data', (d) => {
      process.stderr.write(d);
      buf += d.toString();
      const m = /Debugger listening on ws:\/\/127\.0\.0\.1:(\d+)(\/\S+)/.exec(buf);
      if (m) {
        buf = '';
        process.stdout.write(`CDP READY port=${m[1]} path=${m[2]}\n`);
      }
    });
    child.on('exit', (code, sig) => {
      process.stdout.write(`cdp-server: the inspector target exited (${sig || code})\n`);
      process.exit(code == null ? 1 : code);
    });
  } else if (kind === 'two-mains') {
    const core = await freePort();
    const devtools = await freePort();
    const app = path.join(here, '..', 'clients', 'devtools-app.js');
    // Each main's stdout is passed on, and watched for its lines.
    const startMain = (tag) => {
      const c = spawn(
        process.execPath,
        ['-r', PRELOAD, app, '--port', `${core}`, '--server-port', `${devtools}`, '--tag', tag,
          '--fetch-every', '300', '--register-on-stdin'],
        { cwd: proj, env: LOGGED_ENV, stdio: ['pipe', 'pipe', 'inherit'] },
      );
      c.on('exit', (code, sig) => process.stdout.write(`cdp-server: main ${tag} exited (${sig || code})\n`));
      c.waiters = [];
      let buf = '';
      c.stdout.on('data', (d) => {
        process.stdout.write(d);
        buf += d.toString();
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          const hit = c.waiters.filter((w) => w.re.test(line));
          c.waiters = c.waiters.filter((w) => !hit.includes(w));
          for (const w of hit) w.resolve();
        }
      });
      mains.push(c);
      return c;
    };
    const lineOf = (c, re, what) => new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no "${what}" line within 15 s`)), 15000);
      c.waiters.push({ re, resolve: () => { clearTimeout(t); resolve(); } });
    });
    const b = startMain('b');
    const a = startMain('a');
    await Promise.all([lineOf(b, /^devtools-app loaded/, 'loaded'), lineOf(a, /^devtools-app loaded/, 'loaded')]);
    const bStarted = lineOf(b, /^devtools-app started/, 'started');
    b.stdin.end('register\n');
    await bStarted;
    a.stdin.end('register\n');
    await waitListening(devtools, 15000);
    process.stdout.write(`CDP READY port=${devtools} path=/\n`);
  } else {
    console.error('usage: node cdp-server.js --kind nnd|inspector|two-mains');
    process.exit(2);
  }
}
main().catch((e) => {
  console.error(`cdp-server: ${e.message}`);
  for (const c of [child, ...mains]) if (c) c.kill('SIGKILL');
  process.exit(1);
});
