// .mjs: the closest package.json (../) is CommonJS, and Vite warns about ESM
// syntax in a .js config loaded as CommonJS.
// Probe project for wsspec's Vite HMR scenarios. The server binds 127.0.0.1
// only; the port comes from $PORT (0 = ephemeral) and is never changed behind
// the caller's back (strictPort), so the test knows where to connect.
const rawPort = process.env.PORT ?? '0';
if (!/^\d{1,5}$/.test(rawPort) || Number(rawPort) > 65535) {
  throw new Error(`vite-app: PORT must be 0..65535, got '${rawPort}'`);
}

export default {
  clearScreen: false,
  server: {
    host: '127.0.0.1',
    port: Number(rawPort),
    strictPort: true,
    open: false,
    // Vite turns console forwarding on when it detects an AI coding agent in
    // the environment; pin it off so every machine runs the same listeners.
    forwardConsole: false,
  },
};
