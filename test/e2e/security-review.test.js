'use strict';
// The independent review's attacks on the set-up the README ships (startDemo: bundled flow,
// body-limit middleware as httpAdminMiddleware + httpNodeMiddleware, 512 MB heap,
// WECHAT_MESSAGE_MODE safe), kept as regression tests. Each failed before its fix; each names
// the finding. (The last-second replay, F5, is test/unit/inbound-hardening.test.js.)
const assert = require('node:assert/strict');
const net = require('node:net');
const { demo } = require('../helpers/demo');
const { sleep } = require('../helpers/wait');
const { rssMb } = require('../helpers/rss');

const alive = (pid) => { try { process.kill(pid, 0); return true; } catch { return false; } };

/** One raw request; resolves with the raw answer (or what came before the timeout). */
function raw(port, text, timeout = 3000) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let out = '';
    const fin = () => { s.destroy(); resolve(out); };
    s.on('data', (c) => { out += c; });
    s.on('end', fin);
    s.on('error', fin);
    s.setTimeout(timeout, fin);
    s.on('connect', () => s.write(text));
  });
}

describe('the shipped set-up against the independent review\'s attacks', function () {
  this.timeout(420000);
  let d;
  let port;
  let pid;
  const output = [];
  beforeEach(async () => {
    output.length = 0;
    d = await demo();
    port = Number(new URL(d.nr.url).port);
    pid = d.nr.child.pid;
    d.nr.child.stdout.on('data', (c) => output.push(...String(c).split('\n')));
    d.nr.child.stderr.on('data', (c) => output.push(...String(c).split('\n')));
  });
  afterEach(async () => { if (d) await d.stop(2000); d = undefined; });

  it('F1: POST /wechat chunked in 1-byte chunks (≈1.5 MB on the wire each) does not exhaust the heap', async () => {
    const ts = Math.floor(Date.now() / 1000);
    const q = `timestamp=${ts}&nonce=1&signature=abc&encrypt_type=aes&msg_signature=abc`; // no secret needed
    const payload = Buffer.from('1\r\nA\r\n'.repeat(262000)); // under the 256 KiB limit, never ended
    const before = rssMb(pid);
    const socks = [];
    for (let i = 0; i < 16; i++) {
      const s = net.connect(port, '127.0.0.1');
      s.on('error', () => undefined);
      await new Promise((r) => s.on('connect', r));
      s.write(`POST /wechat?${q} HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nTransfer-Encoding: chunked\r\n\r\n`);
      for (let off = 0; off < payload.length; off += 65536) s.write(payload.subarray(off, off + 65536));
      socks.push(s);
    }
    let peak = before;
    for (let i = 0; i < 30 && alive(pid); i++) { await sleep(500); try { peak = Math.max(peak, rssMb(pid)); } catch { break; } }
    for (const s of socks) s.destroy();
    assert.ok(alive(pid), `Node-RED exited: ${output.filter((l) => /FATAL|heap/.test(l)).join(' | ')}`);
    assert.ok(peak - before < 50, `RSS +${Math.round(peak - before)} MB for ${socks.length} requests of 256 KiB`);
  });

  it('F2: JSON bodies on /wechat under a request target the middleware does not match (#, absolute-form) are bounded; Node-RED stays up', async () => {
    const n = Math.floor((5 * 1024 * 1024 - 2) / 3);
    const body = Buffer.from(`[${'{},'.repeat(n - 1)}{}]`); // just under apiMaxLength (5 MB)
    const socks = [];
    for (let i = 0; i < 12; i++) {
      const s = net.connect(port, '127.0.0.1');
      s.on('error', () => undefined);
      await new Promise((r) => s.on('connect', r));
      const target = i % 2 ? '/wechat#x' : `http://127.0.0.1:${port}/wechat`;
      s.write(`POST ${target} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
      s.write(body.subarray(0, body.length - 1));
      socks.push(s);
    }
    await sleep(3000);
    for (const s of socks) s.write(body.subarray(body.length - 1));
    for (let i = 0; i < 20 && alive(pid); i++) await sleep(250);
    for (const s of socks) s.destroy();
    assert.ok(alive(pid), `Node-RED exited: ${output.filter((l) => /FATAL|heap/.test(l)).join(' | ')}`);
  });

  it('F3: no stack trace in any answer on the WeChat routes (GET/DELETE with a body, #, absolute-form)', async () => {
    const bad = '{"a":';
    for (const [method, target] of [['GET', '/wechat'], ['DELETE', '/wechat'], ['POST', '/wechat#x'], ['POST', `http://127.0.0.1:${port}/wechat`], ['GET', '/wechat-c4c/health']]) {
      const out = await raw(port, `${method} ${target} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${bad.length}\r\nConnection: close\r\n\r\n${bad}`);
      assert.match(out, /^HTTP\/1\.1 \d{3}/, `${method} ${target}: answered at all (nothing would pass the next check too)`);
      assert.doesNotMatch(out, /at JSON\.parse|node_modules/, `${method} ${target}: ${out.slice(0, 300)}`);
    }
  });

  it('F4: 200 aborted uploads on the WeChat routes (GET/DELETE with a JSON body, POST /wechat#x) add fewer than 40 log lines', async () => {
    await sleep(1000);
    const before = output.length;
    for (const head of [
      'GET /wechat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"a":',
      'POST /wechat#x HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"a":',
    ]) {
      for (let i = 0; i < 100; i += 20) await Promise.all(Array.from({ length: 20 }, () => raw(port, head, 150)));
    }
    await sleep(1500);
    const added = output.slice(before).filter(Boolean);
    assert.ok(added.length < 40, `${added.length} log lines, e.g.\n${added.slice(0, 12).join('\n')}`);
  });
});
