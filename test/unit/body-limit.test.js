'use strict';
// The body-limit middleware in front of a real HTTP server: Content-Length refused before
// reading, a chunked body cut at the limit, other routes untouched, arrival time stamped.
const assert = require('node:assert/strict');
const http = require('node:http');
const lib = require('../../dist/lib');
const middleware = require('../../dist/lib/http/middleware');
const { sleep } = require('../helpers/wait');

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

/** A query shaped as WeChat's (the middleware checks shape and timestamp, never the signature). */
const q = (extra = '') => `?signature=${'0'.repeat(40)}&timestamp=${Math.floor(Date.now() / 1000)}&nonce=1${extra}`;

describe('body-limit middleware', () => {
  it('refuses a declared body over the limit at once with 413; passes small bodies on as req.body', async () => {
    const { server, seen, port } = await serve(lib.bodyLimit({ limit: 1024, paths: ['/wechat'] }));
    try {
      const big = await send(port, `/wechat${q()}`, { length: 600 * 1024 * 1024, chunks: [Buffer.alloc(1000)] });
      // 413, or the connection closed by the server mid-upload after it (never a crash or a 200)
      assert.ok(big.status === 413 || /^(ECONNRESET|EPIPE)$/.test(String(big.error)), JSON.stringify(big));
      if (big.status) assert.match(big.text, /larger than 1024/);
      const small = await send(port, `/wechat${q()}`, { chunks: [Buffer.from('<xml/>')], length: 6 });
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
      const res = await send(port, `/wechat${q()}`, { chunks });
      assert.ok(res.status === 413 || /^(ECONNRESET|EPIPE)$/.test(String(res.error)), JSON.stringify(res));
      assert.equal(seen.length, 0, 'nothing reached the route');
      const other = await send(port, '/upload', { chunks });
      assert.equal(other.status, 200);
      assert.equal(seen[0].body, undefined, 'not read by the middleware');
    } finally {
      server.close();
    }
  });
  it('refuses a query that cannot be WeChat\'s before reading the body: repeated or array parameters, no signature, a stale timestamp', async () => {
    const refused = [];
    const off = lib.onBodyLimitRejection((r) => refused.push(r));
    const { server, seen, port } = await serve(middleware({ limit: 1024 * 1024 }));
    try {
      const body = { chunks: [Buffer.alloc(512 * 1024, 0x61)] };
      const cases = [
        [`/wechat${q('&encrypt_type=aes&encrypt_type=raw')}`, 400, /encrypt_type/],
        [`/wechat${q('&encrypt_type[]=aes')}`, 400, /encrypt_type/],
        ['/wechat?timestamp=1&nonce=1', 400, /signature/],
        [`/wechat?signature=x&nonce=1&timestamp=${Math.floor(Date.now() / 1000) - 3600}`, 403, /window/],
      ];
      for (const [path, status, reason] of cases) {
        const res = await send(port, path, body);
        if (res.status !== undefined) {
          assert.equal(res.status, status, path);
          assert.match(res.text, reason);
        } else assert.match(String(res.error), /^(ECONNRESET|EPIPE)$/, path);
      }
      assert.equal(seen.length, 0, 'nothing reached the route');
      assert.deepEqual(refused.map((r) => r.status), [400, 400, 400, 403], 'each refusal reported to the rejection log');
    } finally {
      off();
      server.close();
    }
  });
  it('matches the route Express chose (case-insensitive /WECHAT, a trailing slash), unless the app routes case-sensitively', async () => {
    const mw = middleware({ limit: 1024 });
    const run = (path, routePath, caseSensitive) => new Promise((resolve) => {
      const req = Object.assign(new (require('node:events').EventEmitter)(), {
        method: 'POST', url: path, originalUrl: path, headers: { 'content-length': String(4096) }, query: { signature: 'x', timestamp: String(Math.floor(Date.now() / 1000)), nonce: '1' },
        route: routePath === undefined ? undefined : { path: routePath }, app: { get: (n) => (n === 'case sensitive routing' ? caseSensitive : undefined) },
        socket: { destroy() {} },
      });
      const res = { headersSent: false, headers: {}, setHeader(k, v) { this.headers[k] = v; }, end(b) { resolve({ status: this.statusCode, body: b }); }, once() {} };
      mw(req, res, () => resolve({ next: true }));
    });
    assert.equal((await run('/WECHAT', '/wechat', false)).status, 413, 'routed to /wechat: the limit applies');
    assert.equal((await run('/WECHAT', undefined, false)).status, 413, 'outside a route: the path, case-insensitively');
    assert.equal((await run('/wechat/', undefined, false)).status, 413, 'a trailing slash');
    assert.deepEqual(await run('/WECHAT', undefined, true), { next: true }, 'a case-sensitive app would not route /WECHAT to /wechat');
    assert.deepEqual(await run('/upload', '/upload', false), { next: true });
  });
  it('an aborted upload is counted, not handed to Express as an error (no stack in the log)', async () => {
    const refused = [];
    const off = lib.onBodyLimitRejection((r) => refused.push(r));
    const errors = [];
    const server = http.createServer((req, res) => middleware({ limit: 1024 * 1024 })(req, res, (err) => { errors.push(err); res.end('ok'); }));
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    try {
      for (let i = 0; i < 20; i++) {
        await new Promise((resolve) => {
          const req = http.request({ host: '127.0.0.1', port: server.address().port, method: 'POST', path: `/wechat${q()}`, headers: { 'content-length': '100000' } });
          req.on('error', () => resolve());
          req.write(Buffer.alloc(1000));
          setTimeout(() => { req.destroy(); resolve(); }, 20);
        });
      }
      const deadline = Date.now() + 5000;
      while (refused.length < 20 && Date.now() < deadline) await sleep(20);
      assert.equal(errors.length, 0, 'next(err) never called');
      assert.equal(refused.filter((r) => r.code === 'aborted').length, 20);
    } finally {
      off();
      server.close();
    }
  });
  it('the path as Express routes it: a fragment, an absolute-form target, the query cut off', () => {
    assert.equal(lib.pathOf('/wechat#x'), '/wechat');
    assert.equal(lib.pathOf('http://127.0.0.1:1880/wechat?a=1'), '/wechat');
    assert.equal(lib.pathOf('/wechat?x#y'), '/wechat');
    assert.equal(lib.pathOf('//wechat'), '//wechat', 'not a host (Express does not route it to /wechat either)');
  });
  it('a body on GET/DELETE to a WeChat route or the health probe is refused unread; a body not finished in time is 408; one over the read budget 503', async () => {
    const mw = middleware({ limit: 64 * 1024, bodyTimeoutMs: 300, maxBufferedBytes: 100 * 1024 });
    const { server, seen, port } = await serve(mw);
    const raw = (text, waitMs = 2000) => new Promise((resolve) => {
      const s = require('node:net').connect(port, '127.0.0.1', () => s.write(text));
      let out = '';
      s.on('data', (c) => { out += c; });
      s.on('close', () => resolve(out));
      s.on('error', () => resolve(out));
      setTimeout(() => { s.destroy(); resolve(out); }, waitMs);
    });
    try {
      for (const head of ['GET /wechat', 'DELETE /wechat#x', 'GET /wechat-c4c/health']) {
        const out = await raw(`${head} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\n{"a":`);
        assert.match(out, /^HTTP\/1\.1 400/, head);
      }
      assert.match(await raw(`GET /wechat HTTP/1.1\r\nHost: x\r\n\r\n`), /^HTTP\/1\.1 200/, 'a GET without a body passes');
      // a slow body: half sent, never finished
      const slow = await raw(`POST /wechat${q()} HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nContent-Length: 100\r\n\r\n<xml>`);
      assert.match(slow, /^HTTP\/1\.1 408/);
      // two bodies of 60 KB at once fit the 100 KB read budget only one at a time
      const half = 60 * 1024;
      const pending = [0, 1].map(() => raw(`POST /wechat${q()} HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nContent-Length: ${half}\r\n\r\n${'a'.repeat(half - 10)}`));
      const outs = await Promise.all(pending);
      assert.ok(outs.some((o) => /^HTTP\/1\.1 503/.test(o)), outs.map((o) => o.slice(0, 20)).join(' | '));
      assert.equal(seen.filter((x) => x.bytes > 0).length, 0);
    } finally {
      server.close();
    }
  });
});
