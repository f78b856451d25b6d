'use strict';
// The load balancer of the multi-instance test (test/helpers/nginx.js): Debian's nginx with its own
// configuration, round robin, the body limit, and the retry decision — a request that never reached
// a backend fails over; a POST that reached one is never sent to a second (WeChat retries, not nginx).
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const { startNginx, nginxVersion } = require('../helpers/nginx');
const { needPrograms } = require('../helpers/programs');

function backend(name, onRequest) {
  const hits = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      hits.push({ method: req.method, url: req.url, body });
      if (onRequest) onRequest(req, res);
      else res.end(name);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, hits, address: `127.0.0.1:${server.address().port}` })));
}

const close = (b) => new Promise((r) => { b.server.close(() => r()); b.server.closeAllConnections(); });

describe('nginx in front of several instances (test/helpers/nginx.js)', function () {
  this.timeout(30000);
  const started = [];
  before(function () { needPrograms(this, 'nginx'); });
  afterEach(async () => {
    for (const x of started.splice(0)) await (x.stop ? x.stop() : close(x));
  });

  it(`round robin over the backends, 413 above the body limit, stops on demand (${nginxVersion()})`, async () => {
    const a = await backend('a');
    const b = await backend('b');
    started.push(a, b);
    const ng = await startNginx({ backends: [a.address, b.address] });
    started.push(ng); // stopped by afterEach if an assertion fails first (stop() twice is a no-op)
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await fetch(`${ng.url}/wechat?i=${i}`, { method: 'POST', body: '<xml/>' }).then((r) => r.text()));
    assert.deepEqual(answers.sort(), ['a', 'a', 'b', 'b']);
    assert.equal(a.hits[0].body, '<xml/>');
    const big = await fetch(`${ng.url}/wechat`, { method: 'POST', body: 'x'.repeat(300 * 1024) });
    assert.equal(big.status, 413);
    assert.equal(a.hits.length + b.hits.length, 4, 'the oversized body never reached a backend');
    // the README's block forwards exactly the webhook: not the package's admin endpoints, not the editor
    for (const path of ['/wechat-c4c/check/c4c', '/wechat-c4c/health', '/', '/flows', '/wechatx']) {
      const r = await fetch(`${ng.url}${path}`, { method: path.includes('check') ? 'POST' : 'GET' });
      assert.equal(r.status, 404, path);
    }
    assert.equal(a.hits.length + b.hits.length, 4, 'nothing else reached a backend');
    assert.ok(fs.existsSync(ng.dir));
    await ng.stop();
    assert.equal(fs.existsSync(ng.dir), false, 'its temp directory is gone');
    await assert.rejects(fetch(ng.url));
  });

  it('a dead backend (connection refused): the request goes to a living one', async () => {
    const a = await backend('a');
    const dead = await backend('dead');
    started.push(a);
    await close(dead);
    const ng = await startNginx({ backends: [dead.address, a.address] });
    started.push(ng);
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${ng.url}/wechat`, { method: 'POST', body: `n${i}` });
      assert.equal(res.status, 200);
      assert.equal(await res.text(), 'a');
    }
    assert.equal(a.hits.length, 4);
  });

  it('a backend that dies after it got a POST: 502 to the caller, the POST is not sent to another backend', async () => {
    const dying = await backend('dying', (req) => req.socket.destroy());
    const other = await backend('other');
    started.push(dying, other);
    const ng = await startNginx({ backends: [dying.address, other.address] });
    started.push(ng);
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await fetch(`${ng.url}/wechat`, { method: 'POST', body: `p${i}` })).status);
    assert.equal(statuses.filter((s) => s === 502).length, dying.hits.length, 'every POST the dying backend got ended as 502');
    assert.ok(dying.hits.length >= 1);
    const twice = dying.hits.filter((h) => other.hits.some((o) => o.body === h.body));
    assert.deepEqual(twice, [], 'no POST went to two backends');
  });
});
