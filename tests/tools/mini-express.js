// The part of Express a tutorial's server uses: app.get and app.listen.
const http = require('http');
module.exports = () => {
  const routes = {};
  const app = (req, res) => (routes[req.url] || ((q, r) => { r.statusCode = 404; r.end(); }))(req, res);
  app.get = (path, fn) => { routes[path] = (req, res) => fn(req, { send: (b) => res.end(String(b)) }); };
  app.listen = (...args) => http.createServer(app).listen(...args);
  return app;
};
