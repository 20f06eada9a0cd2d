#!/usr/bin/env node
// ws-restart-bug.js with the fix: stop() closes the WebSocketServer and forgets it,
// and every start() creates a new one, so upgrades after an in-process restart are
// answered with 101 again. It passes the whole generic profile.
//
// Usage: PORT=N node ws-restart-fixed.js   (restart triggers: see restart-harness.cjs)
'use strict';

const { serve, echoServer, closeServer } = require('./restart-harness.cjs');

serve((server, port) => {
  let wss = null;
  return {
    start() {
      wss = echoServer(server, port);
    },
    stop() {
      closeServer(wss);
      wss = null;
    },
  };
});
