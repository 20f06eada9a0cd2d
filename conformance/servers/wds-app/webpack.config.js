// Probe project for wsspec's webpack-dev-server (5.x) HMR scenarios. The dev
// server binds 127.0.0.1 only, on $PORT (0 = ephemeral), and serves its HMR
// socket on /ws through the `ws` library.
'use strict';

const path = require('node:path');

const rawPort = process.env.PORT ?? '0';
if (!/^\d{1,5}$/.test(rawPort) || Number(rawPort) > 65535) {
  throw new Error(`wds-app: PORT must be 0..65535, got '${rawPort}'`);
}

module.exports = {
  mode: 'development',
  // Resolve everything from this folder, whatever the caller's cwd.
  context: __dirname,
  entry: './src/index.js',
  // One summary line per build on stdout (`webpack <v> compiled successfully
  // in <n> ms`), which is what a harness waits for.
  stats: 'minimal',
  output: {
    path: path.resolve(__dirname, 'dist'),
    filename: 'main.js',
    publicPath: '/',
  },
  devServer: {
    hot: true,
    webSocketServer: 'ws',
    host: '127.0.0.1',
    port: Number(rawPort),
    static: path.resolve(__dirname, 'public'),
    open: false,
  },
};
