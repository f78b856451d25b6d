'use strict';
// The attack on the set-up the README ships, end to end: the bundled flow in a real Node-RED
// process started as `npm start` starts it (the body-limit middleware in settings.js on /wechat,
// the heap limit, credentials from the environment, WECHAT_MESSAGE_MODE safe), the sandbox as
// WeChat and C4C. Requests are signed and encrypted by the sandbox's own WeChat code, never lib/.
const assert = require('node:assert/strict');
const http = require('node:http');
const net = require('node:net');
const { demo } = require('../helpers/demo');
const { sleep, waitFor } = require('../helpers/wait');
const { rssMb } = require('../helpers/rss');

/** The Node-RED process's resident memory in MB (Linux /proc). */
/**
 * POST `total` bytes to `path` (Content-Length or chunked) and keep writing until the server answers
 * or closes. Resolves with the status and body of the answer (or the socket error) and how much was
 * written.
 */
function flood(port, path, { total, chunked, type = 'text/xml' }) {
  return new Promise((resolve) => {
    const headers = { 'Content-Type': type };
    if (!chunked) headers['Content-Length'] = String(total);
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path, headers });
    let written = 0;
    let over = false;
    const finish = (r) => { if (!over) { over = true; req.destroy(); resolve({ ...r, written }); } };
    req.on('response', (res) => {
      let text = '';
      res.on('data', (c) => { text += c; });
      res.on('end', () => finish({ status: res.statusCode, text }));
      res.on('error', () => finish({ status: res.statusCode, text }));
    });
    req.on('error', (err) => finish({ error: err.code }));
    const chunk = Buffer.alloc(256 * 1024, 0x41);
    const pump = () => {
      while (!over && written < total) {
        written += chunk.length;
        if (!req.write(chunk)) return req.once('drain', pump);
      }
      if (!over) req.end();
    };
    pump();
  });
}

describe('the shipped set-up under attack (bundled flow, README settings.js, real Node-RED)', function () {
  this.timeout(180000);
  let d;
  let port;
  let genuine; // a genuine safe-mode follow, sent once at `sentAt`, replayed at +65 s
  let sentAt;
  const output = [];

  const customersOf = (openid) => d.sandbox.c4c.customers.filter((c) => c.LastName === openid);
  const pushesTo = (openid) => d.sandbox.wechatApi.messages.filter((m) => m.touser === openid);
  const post = (query, body, path = '/wechat') => fetch(`${d.nr.url}${path}?${query}`, { method: 'POST', headers: { 'Content-Type': 'text/xml' }, body })
    .then(async (r) => ({ status: r.status, text: await r.text() }));
  /** A follow as WeChat signs it in safe mode (the sandbox's own signer). */
  const signedFollow = (openid) => {
    d.sandbox.wechatApi.interact(d.sandbox.opts.appId, openid, 'subscribe');
    return d.sandbox.wechat.sign(d.sandbox.wechat.event(openid, 'subscribe', { EventKey: '' }), 'safe');
  };

  before(async () => {
    d = await demo({ mode: 'safe' });
    port = Number(new URL(d.nr.url).port);
    d.nr.child.stdout.on('data', (c) => output.push(...String(c).split('\n').filter(Boolean)));
    d.nr.child.stderr.on('data', (c) => output.push(...String(c).split('\n').filter(Boolean)));
    genuine = signedFollow('oReplayedFollower0000000000a');
    sentAt = Date.now();
    const first = await post(genuine.query, genuine.body);
    assert.equal(first.status, 200, first.text);
    await waitFor(() => pushesTo('oReplayedFollower0000000000a').length === 1, { what: 'the first push' });
  });
  after(async () => {
    if (d) await d.stop();
  });

  it('bodies of 600 MB (Content-Length and chunked) and 4 GiB chunked, on /wechat and /WECHAT: refused early, Node-RED up, RSS < +50 MB, no stack trace', async () => {
    const pid = d.nr.child.pid;
    const base = rssMb(pid);
    let peak = base;
    const sampler = setInterval(() => { peak = Math.max(peak, rssMb(pid)); }, 25);
    const ts = Math.floor(Date.now() / 1000);
    const shaped = `signature=${'0'.repeat(40)}&timestamp=${ts}&nonce=1&encrypt_type=aes&msg_signature=${'0'.repeat(40)}`;
    const answers = [];
    try {
      for (const path of ['/wechat', '/WECHAT']) {
        for (const query of [shaped, '']) {
          // JSON and form bodies too: with the editor at /, its app parses those on every path first
          for (const type of ['text/xml', 'application/json', 'application/x-www-form-urlencoded']) {
            for (const [total, chunked] of [[600 * 2 ** 20, false], [600 * 2 ** 20, true], [4 * 2 ** 30, true]]) {
              const r = await flood(port, `${path}${query ? `?${query}` : ''}`, { total, chunked, type });
              answers.push({ path, query: !!query, type, total, chunked, ...r });
            }
          }
        }
      }
    } finally {
      clearInterval(sampler);
    }
    for (const a of answers) {
      const what = JSON.stringify({ ...a, text: undefined });
      assert.ok(a.written < 64 * 2 ** 20, `stopped early: ${what}`);
      if (a.status !== undefined) {
        assert.ok([400, 403, 413].includes(a.status), what);
        assert.doesNotMatch(a.text, /\n\s+at |node_modules|Error:/, `no stack trace or path: ${what}`);
      } else {
        assert.match(String(a.error), /^(ECONNRESET|EPIPE)$/, what);
      }
    }
    assert.equal(d.nr.child.exitCode, null, 'Node-RED is still running');
    assert.ok(peak - base < 50, `RSS grew ${Math.round(peak - base)} MB (from ${Math.round(base)} MB)`);
    const health = await fetch(`${d.nr.url}/wechat-c4c/health`);
    assert.equal(health.status, 200);
    assert.equal((await health.json()).ok, true);
  });

  it('an invalid JSON or form body on /wechat and /WECHAT gets no Express error page', async () => {
    const ts = Math.floor(Date.now() / 1000);
    for (const path of ['/wechat', '/WECHAT']) {
      for (const [type, body] of [['application/json', '{"broken'], ['application/x-www-form-urlencoded', 'a[b][c][d][e][f][g]=%zz'], ['text/xml', '<xml><oops']]) {
        for (const query of [`signature=${'0'.repeat(40)}&timestamp=${ts}&nonce=1`, '']) {
          const r = await fetch(`${d.nr.url}${path}?${query}`, { method: 'POST', headers: { 'Content-Type': type }, body });
          const text = await r.text();
          assert.ok([400, 403, 415].includes(r.status), `${path} ${type}: ${r.status}`);
          assert.doesNotMatch(text, /\n\s+at |node_modules|SyntaxError|<html/i, `${path} ${type}`);
        }
      }
    }
  });

  it('safe mode cannot be downgraded: dropped, raw, repeated or array encrypt_type with a forged plaintext follow runs nothing', async () => {
    const victim = signedFollow('oDowngradeVictim00000000000a');
    const params = new URLSearchParams(victim.query);
    const forgedBody = `<xml><ToUserName><![CDATA[${d.sandbox.opts.ghId}]]></ToUserName><FromUserName><![CDATA[oForgedByAttacker0000000000a]]></FromUserName><CreateTime>${Math.floor(Date.now() / 1000)}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event></xml>`;
    const without = (...names) => { const p = new URLSearchParams(params); for (const n of names) p.delete(n); return p; };
    const raw = without('encrypt_type', 'msg_signature'); raw.set('encrypt_type', 'raw');
    const cases = [
      ['encrypt_type and msg_signature dropped', without('encrypt_type', 'msg_signature').toString(), forgedBody, 403],
      ['encrypt_type=raw', raw.toString(), forgedBody, 403],
      ['encrypt_type repeated', `${params}&encrypt_type=raw`, forgedBody, 400],
      ['encrypt_type[]=aes', `${without('encrypt_type')}&encrypt_type[]=aes`, forgedBody, 400],
      ['a forged plaintext follow beside the genuine <Encrypt>', victim.query, victim.body.replace('</xml>', '<FromUserName><![CDATA[oForgedByAttacker0000000000a]]></FromUserName><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event></xml>'), 200],
    ];
    for (const [what, query, body, status] of cases) {
      const r = await post(query, body);
      assert.equal(r.status, status, `${what}: ${r.text}`);
    }
    await waitFor(() => pushesTo('oDowngradeVictim00000000000a').length === 1, { what: 'the genuine follower\'s push' });
    await sleep(500);
    assert.equal(customersOf('oForgedByAttacker0000000000a').length, 0, 'no customer for the forged OpenID');
    assert.equal(pushesTo('oForgedByAttacker0000000000a').length, 0, 'no push to the forged OpenID');
    assert.equal(customersOf('oDowngradeVictim00000000000a').length, 1, 'handled as the encrypted follower');
  });

  it('200 aborted and 20 malformed uploads add fewer than 40 log lines (no stacks)', async () => {
    const before = output.length;
    const ts = Math.floor(Date.now() / 1000);
    const path = `/wechat?signature=${'0'.repeat(40)}&timestamp=${ts}&nonce=1`;
    for (let i = 0; i < 200; i++) {
      await new Promise((resolve) => {
        const req = http.request({ host: '127.0.0.1', port, method: 'POST', path, headers: { 'Content-Length': '100000', 'Content-Type': 'text/xml' } });
        req.on('error', () => resolve());
        req.write(Buffer.alloc(2000, 0x41), () => setTimeout(() => { req.destroy(); resolve(); }, 5));
      });
    }
    for (let i = 0; i < 20; i++) {
      await new Promise((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => s.end(`POST ${path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nnot hex\r\n`));
        s.on('data', () => undefined);
        s.on('close', resolve);
        s.on('error', resolve);
      });
    }
    await sleep(1000);
    const added = output.slice(before);
    assert.ok(added.length < 40, `${added.length} lines:\n${added.slice(0, 20).join('\n')}`);
    assert.doesNotMatch(added.join('\n'), /\n\s+at /, 'no stack trace');
    assert.equal(d.nr.child.exitCode, null);
  });

  it('the identical request replayed at +65 s is answered as a retry: the flow does not run again', async () => {
    const wait = sentAt + 65000 - Date.now();
    if (wait > 0) await sleep(wait);
    const replay = await post(genuine.query, genuine.body);
    assert.equal(replay.status, 200, replay.text);
    await sleep(2000);
    assert.equal(pushesTo('oReplayedFollower0000000000a').length, 1, 'pushed once, not again');
    assert.equal(customersOf('oReplayedFollower0000000000a').length, 1);
    // the flow still serves a genuine follower after all of the above
    const report = await d.sandbox.act('follow', { openid: 'oAfterTheAttack000000000000a' });
    assert.ok(report.ok, JSON.stringify(report.checks));
    await waitFor(() => pushesTo('oAfterTheAttack000000000000a').length === 1, { what: 'the push after the attack' });
  });
});
