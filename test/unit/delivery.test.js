'use strict';
// MemoryDeliveryStore (bounded in bytes, key + sealed reply only) and WeChatAccount's inbound
// lifecycle over it: receive -> sealReply -> settle, retries answered with the same bytes.
const assert = require('node:assert/strict');
require('node:v8').setFlagsFromString('--expose-gc'); // a real gc() for the heap check below
const lib = require('../../dist/lib');
const W = require('../helpers/wechat');
const { sleep } = require('../helpers/wait');

const reply = (body) => ({ statusCode: 200, contentType: 'application/xml; charset=utf-8', body });

describe('MemoryDeliveryStore', () => {
  it('claim: first, then a retry; complete: first write wins and wakes waiting retries', async () => {
    const s = new lib.MemoryDeliveryStore();
    assert.deepEqual(await s.claim('k', 60000), { first: true });
    assert.deepEqual(await s.claim('k', 60000), { first: false });
    const waiting = s.waitFor('k', 5000);
    assert.equal((await s.complete('k', reply('A'))).body, 'A');
    assert.equal((await s.complete('k', null)).body, 'A', 'the first reply wins');
    assert.equal((await waiting).body, 'A');
    assert.deepEqual(await s.claim('k', 60000), { first: false, reply: reply('A') });
    await s.close();
  });
  it('waitFor: null on timeout and on abort; close wakes everyone', async () => {
    const s = new lib.MemoryDeliveryStore();
    await s.claim('k', 60000);
    assert.equal(await s.waitFor('k', 10), null);
    const ac = new AbortController();
    const p = s.waitFor('k', 60000, ac.signal);
    ac.abort();
    assert.equal(await p, null);
    const q = s.waitFor('k', 60000);
    await s.close();
    assert.equal(await q, null);
  });
  it('is bounded in bytes: a burst past the bound forgets the oldest replies and claims first', async () => {
    const s = new lib.MemoryDeliveryStore({ maxBytes: 100 * 1024 });
    for (let i = 0; i < 1000; i++) {
      await s.claim(`m:o${i}:${i}`, 60000);
      await s.complete(`m:o${i}:${i}`, reply('x'.repeat(600)));
    }
    assert.ok(s.bytes <= 100 * 1024, `${s.bytes} bytes`);
    assert.ok(s.size > 10 && s.size < 1000);
    assert.deepEqual(await s.claim('m:o0:0', 60000), { first: true }, 'the oldest was evicted');
    assert.equal((await s.claim('m:o999:999', 60000)).first, false, 'the newest is kept');
    assert.equal(lib.DEFAULT_DELIVERY_BYTES, 15 * 3000 * 1024, 'default: 15 s of retries at 3,000 messages/s');
  });
  it('keeps a sealed reply for replyTtlMs only; the claim stays, so a late duplicate is answered `success`, never run again', async () => {
    let now = 1000;
    const s = new lib.MemoryDeliveryStore({ now: () => now });
    assert.equal(s.replyTtlMs, lib.DEFAULT_REPLY_TTL_MS);
    assert.equal(lib.DEFAULT_REPLY_TTL_MS, 20000, 'WeChat retries within 15 s; 5 s of slack');
    await s.claim('k', 60000);
    const sealed = reply('<xml><Content><![CDATA[欢迎 welcome]]></Content></xml>');
    await s.complete('k', sealed);
    now += 19000;
    assert.deepEqual(await s.claim('k', 60000), { first: false, reply: sealed }, 'the same bytes within the reply TTL');
    assert.deepEqual(await s.waitFor('k', 10), sealed);
    now += 2000; // 21 s after completion: the reply is gone, the claim is not
    assert.deepEqual(await s.claim('k', 60000), { first: false, reply: null });
    assert.equal(await s.waitFor('k', 10), null);
    now += 40000; // past the claim's TTL
    assert.deepEqual(await s.claim('k', 60000), { first: true });
  });
  it('packs a sealed safe-mode envelope (~55 % of its size) and gives back the very same bytes; anything else is kept as it is', async () => {
    const codec = require('../../dist/lib/store/reply-codec');
    const key = Buffer.from(`${W.ACCOUNT.encodingAESKey}=`, 'base64');
    const s = new lib.MemoryDeliveryStore({ maxBytes: 64 * 1024 * 1024 });
    const sealed = [];
    for (let i = 0; i < 300; i++) {
      const xml = lib.buildReplyXml('text', { Content: `欢迎 welcome ${'x'.repeat(i * 7)}` }, { toUser: `oFollower${i}`, fromUser: 'gh_0123456789ab', createTime: 1700000000 + i }).xml;
      const body = lib.encryptReply(xml, { key, appId: W.ACCOUNT.appId, token: W.ACCOUNT.token, timestamp: String(1 + i * 14316557), nonce: i % 2 ? lib.makeNonce() : `N${i}abcXYZ` });
      const parts = codec.parseEnvelope(body);
      assert.ok(parts, `packable: ${body.slice(0, 80)}`);
      assert.ok(codec.envelopeSize(parts) < body.length * 0.8);
      sealed.push(body);
    }
    const size = codec.envelopeSize(codec.parseEnvelope(sealed[0]));
    assert.ok(size < 0.6 * sealed[0].length, `${size} of ${sealed[0].length} bytes`);
    // Near misses: not in the exact shape, so kept as strings, and still given back unchanged.
    const base = sealed[1];
    const misses = [
      base.replace(/<MsgSignature><!\[CDATA\[([0-9a-f]+)/, (m, sig) => m.replace(sig, sig.toUpperCase())),
      base.replace(/<TimeStamp>(\d+)/, '<TimeStamp>0$1'),
      base.replace(/<TimeStamp>(\d+)/, '<TimeStamp>4294967296'),
      base.replace('<Encrypt><![CDATA[', '<Encrypt><![CDATA[AAAA'), // not whole AES blocks
      base.replace('<xml><Encrypt>', '<xml>\n<Encrypt>'),
      base.replace(/<Nonce><!\[CDATA\[(\w+)/, '<Nonce><![CDATA[$1-1'),
      base.replace('</Nonce></xml>', '</Nonce><Extra/></xml>'),
      base.replace(/<Encrypt><!\[CDATA\[([^\]]+)\]\]>/, '<Encrypt>$1'),
      '<xml><ToUserName><![CDATA[o1]]></ToUserName><Content><![CDATA[你好]]></Content></xml>',
      '',
      'success',
    ];
    // a base64 value with non-zero padding bits decodes to the same bytes but is not canonical
    const enc = /<Encrypt><!\[CDATA\[([^\]]+)\]\]>/.exec(base)[1];
    const canonical = Buffer.from(enc, 'base64').subarray(0, 16).toString('base64'); // 22 chars + '=='
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const noncanonical = canonical.slice(0, 21) + alphabet[alphabet.indexOf(canonical[21]) | 1] + '==';
    assert.notEqual(noncanonical, canonical);
    assert.deepEqual(Buffer.from(noncanonical, 'base64'), Buffer.from(canonical, 'base64'), 'the same bytes');
    misses.push(base.replace(enc, noncanonical));
    for (const m of misses) assert.equal(codec.parseEnvelope(m), undefined, `not packed: ${m.slice(0, 60)}`);
    const types = ['application/xml; charset=utf-8', 'text/plain; charset=utf-8', ...Array.from({ length: 70 }, (_, i) => `text/x-${i}; charset=utf-8`), `text/${'y'.repeat(2000)}`];
    const all = [...sealed, ...misses];
    for (let i = 0; i < all.length; i++) {
      await s.claim(`k${i}`, 60000);
      await s.complete(`k${i}`, { statusCode: 200 + (i % 3), contentType: types[i % types.length], body: all[i] });
    }
    // an inline content type longer than its 15-bit length (no real reply has one) is not kept: `success` for a retry
    for (const [k, ct] of [['long1', 'a'.repeat(40000)], ['long2', '你'.repeat(13334)], ['edge', 'b'.repeat(0x7fff)]]) {
      await s.claim(k, 60000);
      await s.complete(k, { statusCode: 200, contentType: ct, body: 'x' });
      const back = (await s.claim(k, 60000)).reply;
      if (ct.length === 0x7fff) assert.deepEqual(back, { statusCode: 200, contentType: ct, body: 'x' });
      else assert.equal(back, null, `${Buffer.byteLength(ct)}-byte content type`);
    }
    for (let i = 0; i < all.length; i++) {
      assert.deepEqual(await s.claim(`k${i}`, 60000), { first: false, reply: { statusCode: 200 + (i % 3), contentType: types[i % types.length], body: all[i] } }, `reply ${i}`);
    }
    await s.close();
  });
  it('a claim costs the same whatever the key: a 96-bit hash of it, outside the V8 heap', async () => {
    const s = new lib.MemoryDeliveryStore();
    const long = `e:oFollower:1700000000:CLICK:${'K'.repeat(5000)}`;
    const before = s.bytes;
    for (let i = 0; i < 100; i++) await s.claim(`${long}${i}`, 60000);
    assert.equal(s.bytes, before, 'the first table holds 100 claims of any length in the same bytes');
    assert.deepEqual(await s.claim(`${long}7`, 60000), { first: false });
    assert.deepEqual(await s.claim(`${long}7x`, 60000), { first: true });
    // and nothing of the key stays on the V8 heap: 20,000 distinct keys of 5,000 characters held
    // as strings would raise the live heap by ~100 MB (a Map of them does)
    const gc = require('node:vm').runInNewContext('gc');
    const live = () => { gc(); return process.memoryUsage().heapUsed; };
    const before2 = live();
    for (let i = 0; i < 20000; i++) await s.claim(`e:oF:1:CLICK:${require('node:crypto').randomBytes(2500).toString('hex')}`, 60000);
    const grown = live() - before2;
    assert.equal(s.size, 20101);
    assert.ok(grown < 20 * 2 ** 20, `the live heap grew by ${Math.round(grown / 2 ** 20)} MB for 20,000 claims`);
  });
  it('agrees with a plain Map model over random claims, completions and expiries (table growth, shrinking, deletion)', async () => {
    let now = 5000;
    const s = new lib.MemoryDeliveryStore({ now: () => now, maxBytes: 64 * 1024 * 1024, replyTtlMs: 20000 });
    const model = new Map(); // key -> { expires, reply, completedAt }
    let seed = 42;
    const rnd = (n) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
    for (let step = 0; step < 30000; step++) {
      now += rnd(3);
      const key = `m:o${rnd(4000)}:${rnd(3)}`;
      const ttl = 2000 + rnd(2) * 1000;
      const m = model.get(key);
      const live = m && m.expires > now;
      if (rnd(3) === 0 && live && m.reply === undefined) {
        const r = rnd(2) ? reply(`r${step}`) : null;
        assert.deepEqual(await s.complete(key, r), r);
        m.reply = r;
        m.completedAt = now;
        continue;
      }
      const got = await s.claim(key, ttl);
      if (!live) {
        assert.deepEqual(got, { first: true }, `step ${step}: ${key} should be first`);
        model.set(key, { expires: now + ttl, reply: undefined });
      } else if (m.reply === undefined) {
        assert.deepEqual(got, { first: false }, `step ${step}: ${key} is in the flow`);
      } else {
        assert.equal(got.first, false);
        // replies live at least replyTtlMs after completion (segments go whole)
        if (now - m.completedAt < 20000) assert.deepEqual(got.reply, m.reply, `step ${step}: ${key} reply`);
      }
    }
    now += 100000;
    await s.claim('sweep', 1);
    assert.ok(s.size <= 1, `${s.size} claims left after everything expired`);
    assert.ok(s.bytes < 64 * 1024, `shrunk back to ${s.bytes} bytes`);
  });
  it('gives the memory of expired replies and claims back while the webhook is quiet', async () => {
    let now = 1000;
    const s = new lib.MemoryDeliveryStore({ now: () => now, idleSweepMs: 20 });
    for (let i = 0; i < 5000; i++) {
      await s.claim(`m:o${i}:${i}`, 60000);
      await s.complete(`m:o${i}:${i}`, reply('x'.repeat(500)));
    }
    const busy = s.bytes;
    assert.ok(s.segmentCount > 0 && s.size === 5000);
    now += 61000; // no claim comes: only the idle sweep can free anything
    await sleep(60);
    assert.equal(s.segmentCount, 0, 'reply segments freed');
    assert.equal(s.size, 0, 'claims freed');
    assert.ok(s.bytes < busy / 10, `${s.bytes} bytes left of ${busy}`);
    await sleep(60);
    assert.equal(s.idleSweep, undefined, 'an empty store keeps no timer');
    await s.close();
  });
  it('expires by TTL', async () => {
    let now = 1000;
    const s = new lib.MemoryDeliveryStore({ now: () => now });
    await s.claim('k', 100);
    now += 101;
    assert.deepEqual(await s.claim('k', 100), { first: true });
  });
});

describe('WeChatAccount inbound lifecycle', () => {
  const make = (deliveries) => new lib.WeChatAccount({ appId: W.ACCOUNT.appId, token: W.ACCOUNT.token, encodingAESKey: W.ACCOUNT.encodingAESKey, previousEncodingAESKey: W.ACCOUNT.previousEncodingAESKey }, { deliveries });
  it('receive claims; sealReply encrypts with the key that decrypted; settle shares the reply and forgets the request', async () => {
    const account = make();
    const r = W.safeRequest(W.subscribe('oLife'), { encodingAESKey: W.ACCOUNT.previousEncodingAESKey });
    const got = await account.receive({ method: 'POST', query: r.query, body: r.body }, { windowMs: 60000, holdMs: 9500 });
    assert.equal(got.kind, 'message');
    assert.equal(got.claim.first, true);
    assert.equal(account.inFlightCount, 1);
    const { reply: sealed } = account.sealReply(got.dedupeKey, 'text', 'welcome', { encrypted: true });
    const opened = W.openReply(sealed.body, { encodingAESKey: W.ACCOUNT.previousEncodingAESKey });
    assert.match(opened.inner, /<ToUserName><!\[CDATA\[oLife\]\]><\/ToUserName>/);
    await account.settle(got.dedupeKey, sealed);
    assert.equal(account.inFlightCount, 0, 'nothing of the request is kept after settle');
    const retry = await account.receive({ method: 'POST', query: r.query, body: r.body }, { windowMs: 60000, holdMs: 9500 });
    assert.equal(retry.claim.first, false);
    assert.equal((await account.awaitFirst(retry, 1000, 60000)).reply.body, sealed.body, 'the same bytes');
  });
  it('takes an injected DeliveryStore', async () => {
    const calls = [];
    const inner = new lib.MemoryDeliveryStore();
    const store = {
      claim: (k, t) => { calls.push('claim'); return inner.claim(k, t); },
      complete: (k, r) => { calls.push('complete'); return inner.complete(k, r); },
      waitFor: (k, t, s) => inner.waitFor(k, t, s),
      close: () => inner.close(),
    };
    const account = make(store);
    const r = W.plainRequest(W.subscribe('oInj'));
    const got = await account.receive({ method: 'POST', query: r.query, body: r.body }, { windowMs: 60000, holdMs: 9500 });
    await account.settle(got.dedupeKey, null);
    assert.deepEqual(calls, ['claim', 'complete']);
  });
  it('RejectionLog: first at once, then at most every interval with the count', () => {
    const log = new lib.RejectionLog(10000);
    assert.equal(log.note('403 bad-signature', 0), 1);
    for (let i = 1; i < 20; i++) assert.equal(log.note('403 bad-signature', i), 0);
    assert.equal(log.note('400 bad-xml', 25), 1, 'another reason is reported on its own');
    assert.equal(log.note('403 bad-signature', 10001), 20);
  });
});
