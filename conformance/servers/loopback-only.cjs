// Preload (`node -r ./loopback-only.cjs …`) that keeps a Node process's
// servers on loopback. Some servers wsspec runs, notably the Module Federation
// DTS broker, call `listen(port)` with no host, which binds every interface;
// the kit may only ever be reachable on 127.0.0.1.
//
// Every net.Server (and so http/https/ws servers) that listens on a TCP port
// without a host, or on a wildcard host (`::`, `0.0.0.0`, …), binds 127.0.0.1
// instead. Explicit hosts, Unix socket paths and inherited handles are left
// alone. Set WSSPEC_LOOPBACK_LOG=1 to log each rewrite to stderr, one line per listen
// call in a fixed form that wsspec's `assert_listening` step reads (the bind the
// program asked for, which the confinement would otherwise hide):
//   loopback-only: pid 123: listen requested host=:: port=5271 -> 127.0.0.1
// `host=(none)` means no host was given (Node would bind every interface).
'use strict';

const net = require('node:net');

const INSTALLED = Symbol.for('wsspec.loopbackOnly');
const LOOPBACK = '127.0.0.1';
const WILDCARDS = new Set(['', '::', '[::]', '::0', '0:0:0:0:0:0:0:0', '0.0.0.0', '0']);

function isWildcard(host) {
  return host == null || WILDCARDS.has(String(host).trim().toLowerCase());
}

function isPort(value) {
  // listen('8080') is a port; listen('/tmp/sock') is a pipe path.
  return typeof value === 'number' || (typeof value === 'string' && /^\d+$/.test(value));
}

/** Logs a rewritten listen: `host` as asked (undefined/null: none given), `port`. */
function log(host, port) {
  if (process.env.WSSPEC_LOOPBACK_LOG) {
    const asked = host == null ? '(none)' : String(host).trim() || "''";
    process.stderr.write(
      `loopback-only: pid ${process.pid}: listen requested host=${asked} port=${port} -> ${LOOPBACK}\n`,
    );
  }
}

/** Returns the argument list with any wildcard or missing host set to 127.0.0.1. */
function confine(args) {
  const first = args[0];

  // listen() / listen(cb): Node would pick a random port on every interface.
  if (args.length === 0 || typeof first === 'function') {
    log(undefined, 0);
    return [0, LOOPBACK, ...args];
  }

  // listen(options[, cb])
  if (first !== null && typeof first === 'object') {
    const isHandle = first._handle !== undefined || typeof first.fd === 'number' || 'handle' in first;
    if (isHandle || first.path !== undefined) return args;
    if (!isWildcard(first.host)) return args;
    log(first.host, first.port == null ? 0 : first.port);
    return [{ ...first, host: LOOPBACK }, ...args.slice(1)];
  }

  // listen(port[, host][, backlog][, cb]); undefined/null port means "any".
  if (first == null || isPort(first)) {
    const port = first == null ? 0 : first;
    const second = args[1];
    if (typeof second === 'string' || second === null || (second === undefined && args.length > 1)) {
      if (!isWildcard(second)) return args;
      log(second, port);
      return [port, LOOPBACK, ...args.slice(2)];
    }
    log(undefined, port);
    return [port, LOOPBACK, ...args.slice(1)];
  }

  // A pipe path or something this shim does not understand: leave it to Node.
  return args;
}

if (!net.Server.prototype[INSTALLED]) {
  const original = net.Server.prototype.listen;
  net.Server.prototype.listen = function listen(...args) {
    return original.apply(this, confine(args));
  };
  net.Server.prototype[INSTALLED] = true;
}

module.exports = { confine };
