#!/usr/bin/env node
// Runs the real Module Federation DevServer client (`ModuleFederationDevServer` of
// @module-federation/dts-plugin, from the committed lockfile of conformance/servers) as
// the client under test of wsspec's `mf-devserver` profile, where wsspec plays the
// broker on port 16322.
//
// The DevServer is what the plugin's dev worker constructs (fork-dev-worker.js):
// `new ModuleFederationDevServer({name, remotes, remoteTypeTarPath, updateCallback})`.
// Its publisher socket goes to ws://<getIPV4()>:16322 and one subscriber socket per
// remote to ws://<remote ip>:16322 (shared/protocols/mf-dts-broker.md, section 6).
// Two things are pinned down here so a test stays on this machine and leaves nothing
// behind, without touching the DevServer's own code:
// * os.networkInterfaces() reports loopback only, so getIPV4() is 127.0.0.1 (on a
//   machine with other interfaces it would pick the first non-127.0.0.1 address);
// * child_process.fork of start-broker.js (the DevServer forks a detached real broker
//   when its publisher connection is refused) is replaced by a stand-in that never
//   says "ready": the kit is the broker, and no detached process may outlive a test.
//   The attempt is logged ("blocked the fork of a background broker").
//
// Usage: node mf-devserver.js --name host --remote remote@127.0.0.1
//          [--tar http://127.0.0.1:40003/@mf-types.zip]
// Output: "mf-devserver started pid=N" once constructed (wsspec's ready line), one line
// per update callback and blocked fork. SIGTERM: the DevServer's own handler (it sends
// EXIT_PUBLISHER and exits 0).
'use strict';

const path = require('path');
const fs = require('fs');
const os = require('os');
const cp = require('child_process');
const { EventEmitter } = require('events');

const log = (s) => process.stdout.write(`${s}\n`);

const args = { name: 'host', remotes: [], tar: null };
for (let i = 2; i < process.argv.length; i++) {
  const k = process.argv[i];
  const v = process.argv[i + 1];
  i++;
  if (k === '--name') args.name = v;
  else if (k === '--remote') {
    const [name, ip] = String(v).split('@');
    if (!/^127\.\d+\.\d+\.\d+$/.test(ip || '')) {
      console.error(`mf-devserver: --remote ${v}: expected name@127.x.y.z (loopback only)`);
      process.exit(2);
    }
    args.remotes.push({ name, ip });
  } else if (k === '--tar') args.tar = v;
  else {
    console.error(`mf-devserver: unknown option ${JSON.stringify(k)}`);
    process.exit(2);
  }
}
args.tar = args.tar || 'http://127.0.0.1:40003/@mf-types.zip';

os.networkInterfaces = () => ({
  lo: [{
    address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '00:00:00:00:00:00',
    internal: true, cidr: '127.0.0.1/8',
  }],
});

const realFork = cp.fork;
cp.fork = function fork(file, ...rest) {
  if (/start-broker/.test(String(file))) {
    log('blocked the fork of a background broker (the kit is the broker)');
    const fake = new EventEmitter();
    fake.send = () => true;
    fake.unref = () => fake;
    fake.pid = 0;
    return fake;
  }
  return realFork.call(this, file, ...rest);
};

const dist = path.join(__dirname, '..', 'servers', 'node_modules', '@module-federation', 'dts-plugin', 'dist');
let chunk;
try {
  chunk = fs.readdirSync(dist).find((f) => /^expose-rpc-.*\.js$/.test(f));
} catch (e) {
  console.error(`mf-devserver: ${dist} is missing; run conformance/servers/ensure-installed.sh`);
  process.exit(2);
}
if (!chunk) {
  console.error(`mf-devserver: no expose-rpc-*.js chunk in ${dist}`);
  process.exit(2);
}
const { ModuleFederationDevServer } = require(path.join(dist, chunk));

// eslint-disable-next-line no-new
new ModuleFederationDevServer({
  name: args.name,
  remotes: args.remotes,
  remoteTypeTarPath: args.tar,
  updateCallback: async (o) => log(`update callback: ${JSON.stringify(o)}`),
});
log(`mf-devserver started pid=${process.pid} name=${args.name} remotes=${args.remotes.map((r) => `${r.name}@${r.ip}`).join(',')}`);
