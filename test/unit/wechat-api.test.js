'use strict';
const assert = require('node:assert/strict');
const lib = require('../../dist/lib');
const { WeChatApiSimulator } = require('../../dist/sandbox/wechat-api');
const { useSimulator } = require('../helpers/sims');
const { sleep } = require('../helpers/wait');

const APPID = 'wx5ba5fad812f8e6fb';
const SECRET = 'sandbox-app-secret';

describe('parseJsonExact and redact', () => {
  it('keeps 64-bit ids exact and msgid always a string', () => {
    const v = lib.parseJsonExact('{"errcode":0,"msgid":4611686018427387905,"small":{"msgid":12},"n":1.5,"s":"12345678901234567890","big":-98765432109876543}');
    assert.deepEqual(v, { errcode: 0, msgid: '4611686018427387905', small: { msgid: '12' }, n: 1.5, s: '12345678901234567890', big: '-98765432109876543' });
  });
  it('redacts access_token, secrets, Basic auth and known values', () => {
    const text = 'GET /cgi-bin/token?grant_type=client_credential&appid=wx1&secret=abc123 then /x?access_token=TOKEN_VALUE&y=1 {"secret":"s3cr3t"} Authorization: Basic dXNlcjpwYXNz mykey12345';
    const out = lib.redact(text, ['mykey12345']);
    for (const s of ['abc123', 'TOKEN_VALUE', 's3cr3t', 'dXNlcjpwYXNz', 'mykey12345']) assert.ok(!out.includes(s), out);
    assert.match(out, /access_token=\*\*\*&y=1/);
  });
  it('hints name the fix (the hint table, keyed by the code as text); 40164 names the caller IP', () => {
    const hints = require('../../nodes/wechat-config/locales/en-US/wechat-config.json')['wechat-config'].hints;
    const ip = new lib.WeChatApiError('stable_token', 40164, 'invalid ip 203.0.113.9 ipv6 ::ffff:203.0.113.9, not in whitelist rid: x');
    assert.equal(ip.hintKey, '40164');
    assert.match(hints[ip.hintKey].replace('__ip__', ip.hintVars.ip), /203\.0\.113\.9.*whitelist/);
    assert.match(hints[new lib.WeChatApiError('custom', 45015, '').hintKey], /window/);
    assert.match(hints[new lib.WeChatApiError('token', 40125, '').hintKey], /AppSecret/);
  });
});

describe('WeChatClient against the WeChat API simulator', function () {
  this.timeout(20000);
  let sim;
  let base;
  useSimulator(() => new WeChatApiSimulator({ accounts: [{ appId: APPID, secret: SECRET }] }), (s, b) => { sim = s; base = b; });
  const client = (extra = {}) => new lib.WeChatClient({ apiBase: base, appId: APPID, secret: SECRET, ...extra, retry: { baseMs: 10, maxMs: 50, ...extra.retry } });

  it('two instances on one token store under one lock (classic): a due token is renewed once, the other instance reads it', async () => {
    const store = new lib.MemorySharedTokenStore();
    const lock = new lib.MemoryLocks();
    const a = client({ mode: 'classic', store, lock });
    const b = client({ mode: 'classic', store, lock });
    for (let i = 0; i < 20; i++) sim.interact(APPID, `oTwo${i}`, 'message');
    await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).sendCustom({ touser: `oTwo${i}`, msgtype: 'text', text: { content: 'x' } })));
    assert.equal(sim.stats().tokenRequests, 1);
    // the stored token falls due: both renew at the same moment, one request
    const rec = await store.get(APPID);
    await store.set(APPID, { ...rec, expiresAt: Date.now() + 1000 });
    const [ra, rb] = await Promise.all([a.refresh(), b.refresh()]);
    assert.equal(sim.stats().tokenRequests, 2);
    assert.equal(ra.token, rb.token);
    assert.equal((await store.get(APPID)).token, ra.token);
    a.close();
    b.close();
  });

  it('200 concurrent sends with no token cached cause exactly one token request', async () => {
    const c = client();
    for (let i = 0; i < 200; i++) sim.interact(APPID, `o${i}`, 'message');
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => c.sendCustom({ touser: `o${i}`, msgtype: 'text', text: { content: `hi ${i}` } })));
    assert.equal(answers.filter((a) => a.errcode === 0).length, 200);
    assert.equal(sim.stats().stableTokenRequests, 1);
    assert.equal(sim.stats().delivered, 200);
    c.close();
  });

  it('the token revoked mid-run: every send succeeds, one extra token request, no send tried more than twice', async () => {
    const c = client();
    for (let i = 0; i < 300; i++) sim.interact(APPID, `o${i}`, 'message');
    const sends = [];
    for (let i = 0; i < 300; i++) {
      if (i === 150) sim.revokeTokens();
      sends.push(c.sendCustom({ touser: `o${i}`, msgtype: 'text', text: { content: `n${i}` } }));
      if (i % 50 === 0) await sleep(5);
    }
    const answers = await Promise.all(sends);
    assert.equal(answers.every((a) => a.errcode === 0), true);
    const s = sim.stats();
    assert.equal(s.stableTokenRequests, 2, 'one more token request');
    assert.equal(s.delivered, 300);
    const perUser = new Map();
    for (const m of sim.messages) perUser.set(m.touser, (perUser.get(m.touser) || 0) + 1);
    assert.ok([...perUser.values()].every((n) => n === 1), 'each message delivered once');
    assert.ok(s.sendCalls <= 300 + 300, 'bounded');
    assert.equal(s.sendCalls - 300, s.errors['40001'], 'every extra call was a 40001 retry');
    assert.equal(c.stats.tokenRetries, s.errors['40001']);
    c.close();
  });

  it('classic mode: GET /cgi-bin/token; a second client invalidates the first after the grace period', async () => {
    sim.opts.classicGrace = 0;
    const a = client({ mode: 'classic' });
    const b = client({ mode: 'classic' });
    sim.interact(APPID, 'oC', 'message');
    await a.sendCustom({ touser: 'oC', msgtype: 'text', text: { content: '1' } });
    await b.sendCustom({ touser: 'oC', msgtype: 'text', text: { content: '2' } }); // new token: a's is dead now
    await a.sendCustom({ touser: 'oC', msgtype: 'text', text: { content: '3' } }); // 40001 -> refetch -> ok
    const s = sim.stats();
    assert.equal(s.tokenRequests, 3);
    assert.equal(s.stableTokenRequests, 0);
    assert.equal(s.errors['40001'], 1);
    a.close();
    b.close();
  });

  it('stable mode: the same token until the renew window; two clients do not break each other', async () => {
    const a = client();
    const b = client();
    sim.interact(APPID, 'oS', 'message');
    await a.sendCustom({ touser: 'oS', msgtype: 'text', text: { content: '1' } });
    await b.sendCustom({ touser: 'oS', msgtype: 'text', text: { content: '2' } });
    await a.sendCustom({ touser: 'oS', msgtype: 'text', text: { content: '3' } });
    assert.equal(sim.stats().stableTokenRequests, 2);
    assert.equal(sim.stats().errors['40001'], undefined);
    assert.equal(await a.getToken(), await b.getToken());
    a.close();
    b.close();
  });

  it('refreshes ahead of expiry on its own (short TTL) and emits token info without the token', async () => {
    sim.opts.tokenTtl = 4; // auto refresh at half the lifetime: 2 s
    sim.opts.stableRenewBefore = 3;
    const c = client({ refreshAhead: 300 });
    const infos = [];
    c.on('token', (i) => infos.push(i));
    c.startAutoRefresh('test');
    while (infos.length < 2) await sleep(100);
    c.close();
    assert.equal(sim.stats().stableTokenRequests, 2);
    assert.ok(infos[1].refreshedAt < infos[0].expiresAt, 'renewed before the first token expired');
    assert.deepEqual(Object.keys(infos[0]).sort(), ['expiresAt', 'expiresIn', 'mode', 'refreshedAt']);
  });

  it('force refresh: a new token; a second force within 30 s is refused here, never sent to WeChat', async () => {
    const c = client();
    const t1 = await c.getToken();
    const before = c.stats.tokenRequests;
    const [a, b, d] = await Promise.all([c.refresh({ force: true }), c.refresh({ force: true }), c.refresh({ force: true })]);
    assert.equal(a, b, 'extra forced refreshes join the running one');
    assert.equal(a, d);
    assert.equal(c.stats.tokenRequests, before + 1, 'one force_refresh call for three inputs');
    const t2 = await c.getToken();
    assert.notEqual(t1, t2);
    await assert.rejects(c.refresh({ force: true }), (e) => e.code === 'FORCE_REFRESH_TOO_SOON');
    assert.equal(c.stats.tokenRequests, before + 1);
    assert.equal(await c.getToken(), t2, 'the stored token is kept');
    c.close();
  });

  it('-1 busy is retried with backoff and then succeeds', async () => {
    const c = client();
    sim.interact(APPID, 'oB', 'message');
    await c.getToken();
    sim.faults.busy = 2;
    const a = await c.sendCustom({ touser: 'oB', msgtype: 'text', text: { content: 'x' } });
    assert.equal(a.errcode, 0);
    assert.equal(c.stats.busyRetries, 2);
    sim.faults.busy = 10;
    await assert.rejects(c.sendCustom({ touser: 'oB', msgtype: 'text', text: { content: 'y' } }), (e) => e.code === '-1' && e.errcode === -1 && e.transient);
    c.close();
  });

  for (const [name, setup, code] of [
    ['45015 outside the window', () => undefined, '45015'],
    ['45047 quota used', () => { const f = sim.interact(APPID, 'oX', 'subscribe'); f.used = 3; }, '45047'],
    ['45015 unsubscribed', () => { sim.interact(APPID, 'oX', 'subscribe'); sim.interact(APPID, 'oX', 'unsubscribe'); }, '45015'],
    ['40003 unknown openid', () => 'oUnknown', '40003'],
  ]) {
    it(`${name} -> WeChatApiError with code ${code}`, async () => {
      const c = client();
      const f = sim.interact(APPID, 'oX', 'message');
      f.windowStart = Date.now() - 49 * 3600 * 1000;
      const touser = setup() || 'oX';
      await assert.rejects(c.sendCustom({ touser, msgtype: 'text', text: { content: 'x' } }), (e) => e instanceof lib.WeChatApiError && e.code === code && e.errcode === Number(code) && e.hintKey === code);
      c.close();
    });
  }

  it('the follow window: 3 messages in the minute after a follow, then 45047', async () => {
    const c = client();
    sim.interact(APPID, 'oF', 'subscribe');
    for (let i = 0; i < 3; i++) await c.sendCustom({ touser: 'oF', msgtype: 'text', text: { content: String(i) } });
    await assert.rejects(c.sendCustom({ touser: 'oF', msgtype: 'text', text: { content: '4' } }), (e) => e.code === '45047');
    c.close();
  });

  it('template message to somebody who unfollowed: 43004', async () => {
    const c = client();
    sim.interact(APPID, 'oGone', 'subscribe');
    sim.interact(APPID, 'oGone', 'unsubscribe');
    await assert.rejects(c.sendTemplate({ touser: 'oGone', template_id: 'tpl', data: { k: { value: 'v' } } }), (e) => e.code === '43004' && e.hintKey === '43004');
    c.close();
  });

  it('template message: the 64-bit msgid comes back exact, as a string', async () => {
    const c = client();
    sim.interact(APPID, 'oT', 'subscribe');
    sim.registerTemplate({ id: 'tpl' }); // the simulator knows only registered templates (else 40037)
    const a = await c.sendTemplate({ touser: 'oT', template_id: 'tpl', data: { k: { value: 'v' } } });
    assert.equal(typeof a.msgid, 'string');
    assert.equal(a.msgid, sim.messages[0].msgid);
    assert.ok(BigInt(a.msgid) > BigInt(Number.MAX_SAFE_INTEGER));
    c.close();
  });

  it('bad secret -> 40125 with a hint; bad appid -> 40013; IP whitelist -> 40164 naming the IP', async () => {
    await assert.rejects(client({ secret: 'wrong-secret' }).getToken(), (e) => e.code === '40125' && e.hintKey === '40125' && !e.message.includes('wrong-secret'));
    await assert.rejects(client({ appId: 'wx0000000000000000' }).getToken(), (e) => e.code === '40013');
    sim.opts.ipWhitelist = ['203.0.113.1'];
    await assert.rejects(client().getToken(), (e) => e.code === '40164' && e.hintVars.ip === '127.0.0.1');
  });

  it('close() during a backoff pause ends the call at once as CLOSED (nothing hangs after a redeploy)', async () => {
    const c = client({ retry: { baseMs: 60000, maxMs: 60000 } });
    sim.interact(APPID, 'oClose', 'message');
    await c.getToken();
    sim.faults.busy = 5;
    const sending = c.sendCustom({ touser: 'oClose', msgtype: 'text', text: { content: 'x' } });
    await sleep(50);
    c.close();
    await assert.rejects(sending, (e) => e.code === 'CLOSED');
  });

  it('a network failure is a WeChatHttpError without URL, token or secret', async () => {
    const c = client();
    await c.getToken();
    const token = await c.getToken();
    sim.faults.outageUntil = Date.now() + 60000;
    sim.interact(APPID, 'oN', 'message');
    await assert.rejects(c.sendCustom({ touser: 'oN', msgtype: 'text', text: { content: 'x' } }), (e) => {
      assert.ok(e instanceof lib.WeChatHttpError, e.message);
      for (const s of [token, SECRET, 'access_token=', base]) assert.ok(!e.message.includes(s), e.message);
      assert.equal(e.config, undefined);
      return true;
    });
    c.close();
  });
});
