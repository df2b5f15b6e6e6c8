// pmd-drain.js: loaded into the Node processes of an app with listen
// (NODE_OPTIONS=--require, beside pmd-preload.so), so that a server with
// no handler of its own for pmd's stop signal drains instead of dying with
// requests under way, as Node servers do in PM2's cluster mode.
// On SIGTERM or SIGINT (PM2's stop signal, which apps from PM2's world
// get): an app that listens for that signal itself decides alone; a
// process with no server dies of the signal as it would have. Otherwise
// every server stops accepting (the other workers take the new
// connections), each response from then on asks its client to close the
// connection, idle keep-alive connections are closed after a second, and
// the process exits once its servers have closed.
'use strict';

const net = require('net');
const http = require('http');

const servers = new Set();
let draining = false;

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (!servers.has(this)) {
    servers.add(this);
    this.once('close', () => servers.delete(this));
    if (this instanceof http.Server)
      this.prependListener('request', (req, res) => {
        if (draining)
          res.shouldKeepAlive = false;
      });
  }
  return listen.apply(this, args);
};

const handlers = {};

function die(sig) {
  process.removeListener(sig, handlers[sig]);
  process.kill(process.pid, sig);
}

function drain(sig) {
  if (draining)
    return;
  if (process.listenerCount(sig) > 1)
    return;
  const open = [...servers].filter((s) => s.listening);
  if (open.length === 0)
    return die(sig);
  draining = true;
  let left = open.length;
  for (const s of open) {
    net.Server.prototype.close.call(s, () => {
      if (--left === 0)
        process.exit(0);
    });
  }
  setTimeout(() => {
    for (const s of open)
      if (typeof s.closeIdleConnections === 'function')
        s.closeIdleConnections();
  }, 1000).unref();
}

for (const sig of ['SIGTERM', 'SIGINT']) {
  handlers[sig] = () => drain(sig);
  process.on(sig, handlers[sig]);
}
