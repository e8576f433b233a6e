'use strict';

// The real socket.io-client@0.9.17 forced onto WebSocket against ferrio (docs/protocol.md §9 C53, C54).

const { defineScenarios } = require('./scenarios');

defineScenarios('websocket');
