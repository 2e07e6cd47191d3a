// Floors for GET /api/me, answering the same JSON body:
//   node     a bare node:http server: what any Node server pays;
//   express  Express 5 with helmet: what the framework and security headers
//            cost before any session, database or logging work.
import http from 'node:http';
import express from 'express';
import helmet from 'helmet';

const [kind, port] = [process.argv[2], Number(process.argv[3])];
const body = {
  user: { id: 1, username: 'admin', role: 'admin', disabled: false, createdAt: new Date().toISOString(), updatedAt: new Date().toISOString(), lastLoginAt: null },
  csrfToken: 'x'.repeat(256),
};

if (kind === 'node') {
  const text = JSON.stringify(body);
  http
    .createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
    })
    .listen(port, '127.0.0.1');
} else {
  const app = express();
  app.use(helmet());
  app.get('/', (_req, res) => res.json(body));
  app.listen(port, '127.0.0.1');
}
