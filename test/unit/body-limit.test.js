'use strict';
// The body-limit middleware in front of a real HTTP server: Content-Length refused before
// reading, a chunked body cut at the limit, other routes untouched, arrival time stamped.
const assert = require('node:assert/strict');
const http = require('node:http');
const lib = require('../../dist/lib');
const middleware = require('../../dist/lib/http/middleware');

function serve(mw) {
  const seen = [];
  const server = http.createServer((req, res) => {
    mw(req, res, () => {
      seen.push({ path: req.url, body: req.body, arrived: req.wechatArrivedAt, bytes: req.body ? req.body.length : 0 });
      res.end('ok');
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, seen, port: server.address().port })));
}

function send(port, path, { chunks = [], length }) {
  return new Promise((resolve) => {
    const headers = { 'content-type': 'text/xml' };
    if (length !== undefined) headers['content-length'] = String(length);
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path, headers }, (res) => {
      let text = '';
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode, text }));
    });
    req.on('error', (err) => resolve({ error: err.code }));
    let i = 0;
    const next = () => {
      if (i >= chunks.length) return req.end();
      if (!req.write(chunks[i++])) req.once('drain', next); else setImmediate(next);
    };
    next();
  });
}

describe('body-limit middleware', () => {
  it('refuses a declared body over the limit at once with 413; passes small bodies on as req.body', async () => {
    const { server, seen, port } = await serve(lib.bodyLimit({ limit: 1024, paths: ['/wechat'] }));
    try {
      const big = await send(port, '/wechat?x=1', { length: 600 * 1024 * 1024, chunks: [Buffer.alloc(1000)] });
      // 413, or the connection closed by the server mid-upload after it (never a crash or a 200)
      assert.ok(big.status === 413 || /^(ECONNRESET|EPIPE)$/.test(String(big.error)), JSON.stringify(big));
      if (big.status) assert.match(big.text, /larger than 1024/);
      const small = await send(port, '/wechat?x=1', { chunks: [Buffer.from('<xml/>')], length: 6 });
      assert.equal(small.status, 200);
      assert.equal(seen.length, 1);
      assert.ok(Buffer.isBuffer(seen[0].body));
      assert.equal(seen[0].body.toString(), '<xml/>');
      assert.ok(seen[0].arrived > 0 && seen[0].arrived <= Date.now());
    } finally {
      server.close();
    }
  });
  it('stops reading a chunked body at the limit; other routes are left alone', async () => {
    const { server, seen, port } = await serve(middleware({ limit: 4096 }));
    try {
      const chunks = Array.from({ length: 64 }, () => Buffer.alloc(1024, 0x61));
      const res = await send(port, '/wechat', { chunks });
      assert.ok(res.status === 413 || /^(ECONNRESET|EPIPE)$/.test(String(res.error)), JSON.stringify(res));
      assert.equal(seen.length, 0, 'nothing reached the route');
      const other = await send(port, '/upload', { chunks });
      assert.equal(other.status, 200);
      assert.equal(seen[0].body, undefined, 'not read by the middleware');
    } finally {
      server.close();
    }
  });
});
