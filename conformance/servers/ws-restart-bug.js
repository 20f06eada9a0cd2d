#!/usr/bin/env node
// A `ws` echo server with the in-process stop/start bug: stop() closes the
// WebSocketServer, and start() only creates one when there is none, so after the
// first in-process restart the closed one is kept. A closed WebSocketServer has taken
// its `upgrade` listener off the HTTP server, so every upgrade from then on gets the
// plain HTTP handler's `200 OK`. A fresh process (kill and start again) does not show
// it; the generic profile's `restart-in-process` check does.
//
// Usage: PORT=N node ws-restart-bug.js   (restart triggers: see restart-harness.cjs)
'use strict';

const { serve, echoServer, closeServer } = require('./restart-harness.cjs');

serve((server, port) => {
  let wss = null;
  return {
    start() {
      if (!wss) wss = echoServer(server, port);
    },
    stop: () => closeServer(wss),
  };
});
