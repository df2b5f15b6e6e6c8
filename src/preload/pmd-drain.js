// pmd-drain.js: loaded into the Node processes of an app with listen
// (NODE_OPTIONS=--require, beside pmd-preload.so), so that a server drains
// on pmd's stop signal instead of dropping the requests under way, as Node
// servers do in PM2's cluster mode.
// On SIGTERM or SIGINT (PM2's stop signal, which apps from PM2's world
// get), every server stops accepting (the other workers take the new
// connections) and each response from then on asks its client to close
// the connection, so that no keep-alive client sends a request into a
// connection that is about to close. Then:
// - an app with no handler of its own for that signal: idle keep-alive
//   connections are closed after a second, and the process exits once its
//   servers have closed (a process with no server dies of the signal as
//   it would have);
// - an app that handles the signal itself (NestJS's enableShutdownHooks,
//   an Express app that calls server.close()) decides when to exit. Its
//   own server.close() then waits for the connections to end, as above,
//   rather than cutting idle keep-alive ones at once, and its callback
//   runs when they have.
'use strict';

const net = require('net');
const http = require('http');
const https = require('https');

const servers = new Set();
let draining = false;

const netClose = net.Server.prototype.close;
const netListen = net.Server.prototype.listen;

net.Server.prototype.listen = function (...args) {
  if (!servers.has(this)) {
    servers.add(this);
    this.once('close', () => {
      servers.delete(this);
      this.pmdClosed = true;
    });
    if (this instanceof http.Server)
      this.prependListener('request', (req, res) => {
        if (draining)
          res.shouldKeepAlive = false;
      });
  }
  return netListen.apply(this, args);
};

// A close of a server pmd is draining: its callback when the connections
// have ended (never ERR_SERVER_NOT_RUNNING), and no cut of idle ones.
function closeDraining(server, cb) {
  if (typeof cb === 'function') {
    if (server.pmdClosed)
      process.nextTick(cb);
    else
      server.once('close', () => cb());
  }
  return server;
}

for (const proto of [net.Server.prototype, http.Server.prototype,
  https.Server.prototype]) {
  if (!Object.prototype.hasOwnProperty.call(proto, 'close'))
    continue;
  const close = proto.close;
  proto.close = function (cb) {
    if (this.pmdDraining)
      return closeDraining(this, cb);
    return close.apply(this, arguments);
  };
}

const handlers = {};

function die(sig) {
  process.removeListener(sig, handlers[sig]);
  process.kill(process.pid, sig);
}

// Stop accepting on each open server, and close what is idle in a second.
// done: called once they have all closed.
function stopAccepting(open, done) {
  let left = open.length;
  for (const s of open) {
    s.pmdDraining = true;
    netClose.call(s, () => {
      if (--left === 0 && done)
        done();
    });
  }
  setTimeout(() => {
    for (const s of open)
      if (typeof s.closeIdleConnections === 'function')
        s.closeIdleConnections();
  }, 1000).unref();
}

function drain(sig) {
  if (draining)
    return;
  const open = [...servers].filter((s) => s.listening);
  const own = process.listenerCount(sig) > 1;
  if (open.length === 0) {
    if (!own)
      die(sig);
    return;
  }
  draining = true;
  stopAccepting(open, own ? null : () => process.exit(0));
}

for (const sig of ['SIGTERM', 'SIGINT']) {
  handlers[sig] = () => drain(sig);
  process.on(sig, handlers[sig]);
}
