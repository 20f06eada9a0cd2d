#!/usr/bin/env node
// WebSocket echo server over HTTP/2 (RFC 8441) on Node's built-in `node:http2`, no npm
// packages. Node's HTTP/2 stack (libnghttp2) does the HTTP/2 part: SETTINGS, header
// validation, flow control; the RFC 6455 framing inside each stream is written here, as a
// conforming echo: RSV, opcodes, masking, control-frame and fragmentation rules (1002), UTF-8
// checked as fragments arrive (1007), close codes (1002) echoed, then END_STREAM.
//
// Usage: node h2-echo.mjs [--port N] [--tls --cert FILE --key FILE] [--no-connect-protocol]
//   --port 0 (default): an ephemeral port on 127.0.0.1.
//   --no-connect-protocol: SETTINGS_ENABLE_CONNECT_PROTOCOL stays 0 (for wsspec's h2.2.2).
// Prints one line `LISTENING <port>` on stdout when ready; SIGTERM/SIGINT: exit 0.
import http2 from 'node:http2';
import fs from 'node:fs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const port = Number(opt('--port', '0'));
const tls = args.includes('--tls');
const settings = { enableConnectProtocol: !args.includes('--no-connect-protocol') };
const MAX_MESSAGE = 64 << 20;

const server = tls
  ? http2.createSecureServer({ key: fs.readFileSync(opt('--key')), cert: fs.readFileSync(opt('--cert')), settings })
  : http2.createServer({ settings });

// Server frames are never masked (RFC 6455 §5.1).
function frame(op, payload = Buffer.alloc(0)) {
  const n = payload.length;
  let h;
  if (n < 126) h = Buffer.from([0x80 | op, n]);
  else if (n < 65536) { h = Buffer.alloc(4); h[0] = 0x80 | op; h[1] = 126; h.writeUInt16BE(n, 2); }
  else { h = Buffer.alloc(10); h[0] = 0x80 | op; h[1] = 127; h.writeBigUInt64BE(BigInt(n), 2); }
  return Buffer.concat([h, payload]);
}

function closeFrame(code) {
  if (code === undefined) return frame(8);
  const p = Buffer.alloc(2);
  p.writeUInt16BE(code, 0);
  return frame(8, p);
}

// RFC 6455 §7.4: codes an endpoint may send (1012-1014 registered with IANA since).
const validCode = (c) =>
  (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) || (c >= 3000 && c <= 4999);

function websocket(stream) {
  let buf = Buffer.alloc(0);
  let msgOp = 0; // opcode of the message being assembled, 0 = none
  let parts = [];
  let size = 0;
  let utf8 = null;
  let closed = false;
  const finish = (code) => {
    if (closed) return;
    closed = true;
    stream.write(closeFrame(code));
    stream.end(); // END_STREAM: the server's side of the orderly close (RFC 8441 §5)
  };
  const onFrame = (fin, op, p) => {
    if (op >= 8) {
      if (op === 8) {
        if (p.length === 1) return finish(1002);
        if (p.length === 0) return finish(undefined);
        const code = p.readUInt16BE(0);
        if (!validCode(code)) return finish(1002);
        try { new TextDecoder('utf-8', { fatal: true }).decode(p.subarray(2)); } catch { return finish(1007); }
        return finish(code);
      }
      if (op === 9) stream.write(frame(10, p));
      return; // pong: nothing
    }
    if (op === 0 && msgOp === 0) return finish(1002);
    if (op !== 0 && msgOp !== 0) return finish(1002);
    if (op !== 0) { msgOp = op; utf8 = op === 1 ? new TextDecoder('utf-8', { fatal: true }) : null; }
    size += p.length;
    if (size > MAX_MESSAGE) return finish(1009);
    if (utf8) {
      try { utf8.decode(p, { stream: !fin }); } catch { return finish(1007); }
    }
    parts.push(p);
    if (!fin) return;
    stream.write(frame(msgOp, Buffer.concat(parts)));
    msgOp = 0; parts = []; size = 0; utf8 = null;
  };
  stream.on('data', (chunk) => {
    if (closed) return;
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    while (!closed && buf.length >= 2) {
      const fin = (buf[0] & 0x80) !== 0;
      const rsv = buf[0] & 0x70;
      const op = buf[0] & 0x0f;
      const masked = (buf[1] & 0x80) !== 0;
      let len = buf[1] & 0x7f;
      let off = 2;
      if (rsv || (op > 2 && op < 8) || op > 10 || !masked) return finish(1002);
      if (op >= 8 && (!fin || len > 125)) return finish(1002);
      if (len === 126) {
        if (buf.length < 4) return;
        len = buf.readUInt16BE(2); off = 4;
      } else if (len === 127) {
        if (buf.length < 10) return;
        const big = buf.readBigUInt64BE(2);
        if (big >> 63n) return finish(1002);
        if (big > BigInt(MAX_MESSAGE)) return finish(1009);
        len = Number(big); off = 10;
      }
      if (buf.length < off + 4 + len) return;
      const key = buf.subarray(off, off + 4);
      const p = Buffer.from(buf.subarray(off + 4, off + 4 + len));
      for (let i = 0; i < p.length; i++) p[i] ^= key[i & 3];
      buf = buf.subarray(off + 4 + len);
      onFrame(fin, op, p);
    }
  });
  // The client ended its side: end ours (after a close handshake this completes it).
  stream.on('end', () => { if (!closed) { closed = true; stream.end(); } });
  stream.on('error', () => {});
}

server.on('session', (s) => s.on('error', () => {}));
server.on('stream', (stream, headers) => {
  stream.on('error', () => {});
  if (headers[':method'] !== 'CONNECT') {
    stream.respond({ ':status': 200, 'content-type': 'text/plain' });
    stream.end('h2-echo: WebSocket over HTTP/2 only (RFC 8441)\n');
    return;
  }
  if (headers[':protocol'] !== 'websocket') {
    stream.respond({ ':status': 501 }, { endStream: true });
    return;
  }
  if (headers['sec-websocket-version'] !== '13') {
    stream.respond({ ':status': 400, 'sec-websocket-version': '13' }, { endStream: true });
    return;
  }
  const offered = (headers['sec-websocket-protocol'] || '').split(',').map((s) => s.trim()).filter(Boolean);
  const resp = { ':status': 200 };
  if (offered.length) resp['sec-websocket-protocol'] = offered[0];
  stream.respond(resp); // no sec-websocket-accept over HTTP/2 (RFC 8441 §5)
  websocket(stream);
});

const stop = () => { server.close(); process.exit(0); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`LISTENING ${server.address().port}\n`);
});
