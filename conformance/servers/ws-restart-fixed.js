#!/usr/bin/env node
// ws-restart-bug.js with the fix: stop() closes the WebSocketServer and forgets it,
// and every start() creates a new one, so upgrades after an in-process restart are
// answered with 101 again. It passes the whole generic profile.
//
// Usage: PORT=N node ws-restart-fixed.js   (restart triggers: see restart-harness.cjs)
'use strict';

const { WebSocketServer } = require('ws');
const { serve, echo, ownOrigin } = require('./restart-harness.cjs');

serve((server, port) => {
  let wss = null;
  return {
    start() {
      wss = new WebSocketServer({
        server,
        verifyClient: ({ req }) => ownOrigin(req.headers.origin, port),
      });
      wss.on('connection', echo);
    },
    stop() {
      for (const c of wss.clients) c.terminate();
      wss.close();
      wss = null;
    },
  };
});
