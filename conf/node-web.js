// A Node web server written as for PM2: it calls listen(PORT) itself and
// knows nothing of pmd. With `listen` in its app (node-cluster.conf), each
// instance's own listen() gets the socket pmd bound for it, so they all
// serve the one port, and a worker counts as online once it listens.
const http = require('http');
const net = require('net');

const port = Number(process.env.PORT) || 3000;
let draining = false;

const server = http.createServer((req, res) => {
  if (draining)
    res.setHeader('Connection', 'close');
  res.end(`hello from instance ${process.env.PMD_INSTANCE} (pid ${process.pid})\n`);
});
server.listen(port);

// Drain on SIGTERM (what pmd sends on stop, restart and reload): stop
// accepting, answer what is under way, ask keep-alive clients to close,
// then exit. This is net.Server's close: http.Server's also drops idle
// keep-alive connections since Node 19, and a client that sends on one
// at that moment gets an error instead of an answer.
process.on('SIGTERM', () => {
  draining = true;
  net.Server.prototype.close.call(server, () => process.exit(0));
});
