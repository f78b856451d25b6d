'use strict';
const assert = require('node:assert/strict');
const { RedisStoreProvider, redactRedisUrl } = require('../../dist/lib');
const { startRedis } = require('../helpers/redis');
const { needPrograms } = require('../helpers/programs');
const { storeSuite } = require('../unit/store/shared-suite');
const { sleep } = require('../helpers/wait');

/** Every wait is bounded: a provider that does not connect within 5 s fails the test, never hangs it. */
async function connected(p) {
  let timer;
  await Promise.race([p.ready(), new Promise((r) => { timer = setTimeout(r, 5000); })]);
  clearTimeout(timer);
  for (let i = 0; i < 100 && !p.healthy; i++) await sleep(20);
  assert.equal(p.healthy, true, 'provider did not connect');
  return p;
}

describe('Redis store (real redis-server)', function () {
  this.timeout(30000);
  let redis;
  let n = 0;
  before(async function () {
    needPrograms(this, 'redis-server');
    redis = await startRedis();
  });
  after(async () => { await redis?.stop(); });
  const make = () => connected(new RedisStoreProvider({ url: redis.url, prefix: `t${++n}:`, commandTimeoutMs: 2000 }));

  storeSuite('redis', async () => {
    const prefix = `s${++n}:`;
    const a = await connected(new RedisStoreProvider({ url: redis.url, prefix, commandTimeoutMs: 2000 }));
    const b = await connected(new RedisStoreProvider({ url: redis.url, prefix, commandTimeoutMs: 2000 }));
    return { a, b, close: async () => { await a.close(); await b.close(); } };
  });

  it('deliveries: one first claim across two instances; retries get the first write and wake on complete', async () => {
    const a = await make();
    const b = new RedisStoreProvider({ url: redis.url, prefix: a.prefix, commandTimeoutMs: 2000 });
    await connected(b);
    const da = a.deliveries('wxapp');
    const db = b.deliveries('wxapp');
    assert.deepEqual(await da.claim('msg-1', 10000), { first: true });
    assert.deepEqual(await db.claim('msg-1', 10000), { first: false });
    const waiting = db.waitFor('msg-1', 10000);
    // the waiting retry listens on the scope's reply channel (woken by PUBLISH, not only by polling)
    const channel = a.key('wxapp', 'replies', 'channel');
    const subscribers = async () => Number((await a.cmd(['PUBSUB', 'NUMSUB', channel]))[1]);
    for (let i = 0; i < 100 && await subscribers() !== 1; i++) await sleep(20);
    assert.equal(await subscribers(), 1);
    const reply = { statusCode: 200, contentType: 'application/xml', body: '<xml>你好</xml>' };
    assert.deepEqual(await da.complete('msg-1', reply), reply);
    assert.deepEqual(await waiting, reply);
    assert.deepEqual(await db.complete('msg-1', { statusCode: 200, contentType: 'text/plain', body: 'other' }), reply, 'a second write replaced the first');
    assert.deepEqual(await db.claim('msg-1', 10000), { first: false, reply });
    // success (null) is a reply too; timeout and abort give null
    await da.claim('msg-2', 10000);
    assert.equal(await da.complete('msg-2', null), null);
    assert.deepEqual(await db.claim('msg-2', 10000), { first: false, reply: null });
    assert.equal(await db.waitFor('msg-3', 100), null);
    const ac = new AbortController();
    const aborted = db.waitFor('msg-4', 10000, ac.signal);
    ac.abort();
    assert.equal(await aborted, null);
    await a.close();
    await b.close();
  });

  it('locks: renewal keeps a long task\'s lock; a lost lock is not released by its old owner', async () => {
    const a = await make();
    const b = await connected(new RedisStoreProvider({ url: redis.url, prefix: a.prefix, commandTimeoutMs: 2000 }));
    const h = await a.locks('acct').acquire('long', { ttlMs: 300 });
    await sleep(1000); // three leases: only renewal keeps it
    assert.equal(h.held, true);
    await assert.rejects(b.locks('acct').acquire('long', { ttlMs: 300, waitMs: 100 }), (e) => e.code === 'LOCK_TIMEOUT');
    // Redis forgets the lock (e.g. a failover); another instance takes it
    await a.cmd(['DEL', a.key('acct', 'lock', 'long')]);
    const hb = await b.locks('acct').acquire('long', { ttlMs: 5000, waitMs: 1000 });
    for (let i = 0; i < 50 && h.held; i++) await sleep(50);
    assert.equal(h.held, false, 'the old owner still thinks it holds the lock');
    await h.release();
    const c = await connected(new RedisStoreProvider({ url: redis.url, prefix: a.prefix, commandTimeoutMs: 2000 }));
    await assert.rejects(c.locks('acct').acquire('long', { ttlMs: 5000, waitMs: 100 }), (e) => e.code === 'LOCK_TIMEOUT', 'the old owner released the new owner\'s lock');
    await hb.release();
    await a.close(); await b.close(); await c.close();
  });

  it('work queue: an instance that takes an item and dies without ack → another claims it with recovered=true', async () => {
    const a = await connected(new RedisStoreProvider({ url: redis.url, prefix: `t${++n}:`, commandTimeoutMs: 2000, closeTimeoutMs: 200 }));
    const b = await connected(new RedisStoreProvider({ url: redis.url, prefix: a.prefix, commandTimeoutMs: 2000 }));
    const qa = a.queue('node-1', { claimAfterMs: 300 });
    let took;
    const tookP = new Promise((r) => { took = r; });
    qa.consume((item) => { took(item); return new Promise(() => {}); }); // never settles: a dead instance
    await qa.add({ follower: 'o1' });
    const first = await tookP;
    assert.equal(first.recovered, false);
    // the instance dies: its connections go away without ack
    const closing = a.close();
    closing.catch(() => {});
    const qb = b.queue('node-1', { claimAfterMs: 300 });
    const got = await new Promise((resolve) => qb.consume(async (item) => resolve(item)));
    assert.equal(got.recovered, true);
    assert.deepEqual(got.data, { follower: 'o1' });
    assert.equal(got.id, first.id);
    // acknowledged: nothing pending
    for (let i = 0; i < 50; i++) {
      const pend = await b.cmd(['XPENDING', b.key('node-1', 'queue', 'stream'), 'workers']);
      if (Number(pend[0]) === 0) break;
      await sleep(50);
    }
    const pend = await b.cmd(['XPENDING', b.key('node-1', 'queue', 'stream'), 'workers']);
    assert.equal(Number(pend[0]), 0);
    await closing; // close() lets go of a handler that never settles (closeTimeoutMs)
    assert.equal(a.healthy, false);
    await b.close();
  });

  it('work queue: the instance that only queued an item hears that another instance finished it (onDone), once; the worker hears nothing of others\' work', async () => {
    const a = await make();
    const b = await connected(new RedisStoreProvider({ url: redis.url, prefix: a.prefix, commandTimeoutMs: 2000 }));
    try {
      const qa = a.queue('statuses', { claimAfterMs: 5000 });
      const qb = b.queue('statuses', { claimAfterMs: 5000 });
      const heardA = [];
      const heardB = [];
      qa.onDone((id) => heardA.push(id));
      qb.onDone((id) => heardB.push(id));
      const ran = [];
      qb.consume(async (item) => { ran.push(item.data.n); });
      const ids = [await qa.add({ n: 1 }), await qa.add({ n: 2 })];
      for (let i = 0; i < 100 && heardA.length < 2; i++) await sleep(50);
      assert.deepEqual(ran.sort(), [1, 2], 'the other instance ran both');
      assert.deepEqual(heardA.sort(), ids.sort(), 'the instance that queued them heard both were done');
      assert.deepEqual(heardB, [], 'b added nothing: nothing to hear');
      await sleep(300);
      assert.equal(heardA.length, 2, 'once each');
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('Redis restarted: healthy false then true, commands during the outage fail with STORE_UNAVAILABLE', async () => {
    const own = await startRedis();
    const p = await connected(new RedisStoreProvider({ url: own.url, commandTimeoutMs: 1000 }));
    const events = [];
    p.on('down', () => events.push('down'));
    p.on('up', () => events.push('up'));
    const lock = await p.locks('acct').acquire('outage', { ttlMs: 300 });
    await own.stop();
    for (let i = 0; i < 100 && p.healthy; i++) await sleep(20);
    assert.equal(p.healthy, false);
    await assert.rejects(p.tokens().get('wxapp'), (e) => e.code === 'STORE_UNAVAILABLE');
    // a lock whose lease cannot be renewed during the outage is reported lost once the lease ran out
    for (let i = 0; i < 100 && lock.held; i++) await sleep(20);
    assert.equal(lock.held, false, 'a lock stayed "held" after its lease expired unrenewed');
    await assert.rejects(p.queue('q', { claimAfterMs: 1000 }).add({ a: 1 }), (e) => e.code === 'STORE_UNAVAILABLE');
    const again = await startRedis({ port: own.port });
    for (let i = 0; i < 300 && !p.healthy; i++) await sleep(20);
    assert.equal(p.healthy, true);
    assert.deepEqual(events, ['down', 'up']);
    await p.tokens().set('wxapp', { token: 'T', expiresAt: Date.now() + 10000 });
    assert.equal((await p.tokens().get('wxapp')).token, 'T');
    await p.close();
    await again.stop();
  });

  it('Redis restarted without persistence: work queued and not finished is added again by the instance that queued it', async () => {
    const own = await startRedis();
    const a = await connected(new RedisStoreProvider({ url: own.url, commandTimeoutMs: 1000, closeTimeoutMs: 100 }));
    const b = await connected(new RedisStoreProvider({ url: own.url, commandTimeoutMs: 1000, closeTimeoutMs: 100 }));
    // after the loss each instance waits claimAfterMs (work may be finishing elsewhere), then re-adds
    const qa = a.queue('lost', { claimAfterMs: 1000 });
    const qb = b.queue('lost', { claimAfterMs: 1000 });
    const handledByA = [];
    const handledByB = [];
    qa.consume(async (item) => { handledByA.push(item); });
    // b takes its first item and never finishes it (it was busy when Redis went away)
    qb.consume((item) => { handledByB.push(item); return handledByB.length === 1 ? new Promise(() => {}) : Promise.resolve(); });
    for (let i = 0; i < 40 && handledByB.length === 0; i++) {
      await qa.add({ n: i });
      await sleep(20);
    }
    assert.equal(handledByB.length, 1, 'b never got an item');
    const stuck = handledByB[0].data.n;
    await own.stop();
    const again = await startRedis({ port: own.port }); // empty: no stream, no group
    try {
      const all = () => [...handledByA, ...handledByB.slice(1)];
      for (let i = 0; i < 400 && !all().some((x) => x.data.n === stuck); i++) await sleep(25);
      const redone = all().filter((x) => x.data.n === stuck);
      assert.equal(redone.length, 1, 'the lost item was not added again exactly once');
      assert.equal(redone[0].recovered, true);
      // items that were finished are not added again
      const counts = {};
      for (const x of all()) counts[x.data.n] = (counts[x.data.n] || 0) + 1;
      assert.ok(Object.values(counts).every((c) => c === 1), JSON.stringify(counts));
    } finally {
      await a.close();
      await b.close();
      await again.stop();
    }
  });

  it('a command right after start (deploy) waits for the first connection instead of failing; an unreachable Redis fails within the command time', async () => {
    const p = new RedisStoreProvider({ url: redis.url, prefix: `start${++n}:` });
    await p.tokens().set('wxstart', { token: 'T0', expiresAt: Date.now() + 10000 }); // not yet connected when called
    assert.equal((await p.tokens().get('wxstart')).token, 'T0');
    await p.close();
    const q = new RedisStoreProvider({ url: 'redis://127.0.0.1:1', commandTimeoutMs: 300 });
    await assert.rejects(q.tokens().get('wxstart'), (e) => e.code === 'STORE_UNAVAILABLE');
    await q.close();
  });

  it('Redis restarted empty: work another instance was running and finishes meanwhile is not added again', async () => {
    const own = await startRedis();
    const a = await connected(new RedisStoreProvider({ url: own.url, commandTimeoutMs: 1000, closeTimeoutMs: 100 }));
    const b = await connected(new RedisStoreProvider({ url: own.url, commandTimeoutMs: 1000, closeTimeoutMs: 3000 }));
    let again;
    try {
      const qa = a.queue('finishing', { claimAfterMs: 2500 });
      const qb = b.queue('finishing', { claimAfterMs: 2500 });
      const runs = [];
      let release;
      const released = new Promise((r) => { release = r; });
      qa.consume(async (item) => { runs.push(['a', item.data.n]); });
      qb.consume(async (item) => { runs.push(['b', item.data.n]); if (runs.filter((r) => r[0] === 'b').length === 1) await released; });
      for (let i = 0; i < 40 && !runs.some((r) => r[0] === 'b'); i++) {
        await qa.add({ n: i });
        await sleep(20);
      }
      const slow = runs.find((r) => r[0] === 'b')[1];
      await own.stop();
      again = await startRedis({ port: own.port }); // empty
      for (let i = 0; i < 200 && !b.healthy; i++) await sleep(25);
      await sleep(300);
      release(); // b finishes its work after the restart and reports it done
      await sleep(4000); // past claimAfterMs: a would have added it again by now
      assert.deepEqual(runs.filter((r) => r[1] === slow), [['b', slow]], 'the finished work ran again');
    } finally {
      await a.close();
      await b.close();
      if (again) await again.stop();
    }
  });

  it('work queue: an add while Redis restarts waits for it (addWaitMs) and the work is done; past addWaitMs it fails with STORE_UNAVAILABLE', async () => {
    const own = await startRedis();
    let again;
    const p = await connected(new RedisStoreProvider({ url: own.url, commandTimeoutMs: 1000 }));
    try {
      const q = p.queue('blip', { claimAfterMs: 60000, addWaitMs: 4000 });
      const seen = [];
      q.consume(async (item) => { seen.push(item.data.n); });
      await q.add({ n: 1 });
      await own.stop();
      for (let i = 0; i < 100 && p.healthy; i++) await sleep(20);
      const adding = q.add({ n: 2 });
      await sleep(300);
      again = await startRedis({ port: own.port });
      await adding;
      for (let i = 0; i < 200 && !seen.includes(2); i++) await sleep(25);
      assert.ok(seen.includes(2), 'the work added during the restart was not done');
      const short = p.queue('blip-short', { claimAfterMs: 60000, addWaitMs: 100 });
      await again.stop();
      for (let i = 0; i < 100 && p.healthy; i++) await sleep(20);
      await assert.rejects(short.add({ n: 3 }), (e) => e.code === 'STORE_UNAVAILABLE');
    } finally {
      await p.close();
      if (again) await again.stop();
    }
  });

  it('a lock still held when its store closes (redeploy) is released by its task: another instance takes it at once', async () => {
    const a = await make();
    const b = await connected(new RedisStoreProvider({ url: redis.url, prefix: a.prefix, commandTimeoutMs: 2000 }));
    try {
      const la = a.locks('acct');
      const h = await la.acquire('closing', { ttlMs: 30000 });
      await la.close(); // the node closes while its task still runs
      await h.release(); // the task ends
      const h2 = await b.locks('acct').acquire('closing', { ttlMs: 30000, waitMs: 500 });
      assert.equal(h2.held, true);
      await h2.release();
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('a redeploy does not pile up: closed delivery stores, lock sets and queues are let go, a queue\'s reader connection closed', async () => {
    const p = await make();
    try {
      const clients = async () => String(await p.cmd(['CLIENT', 'LIST'])).split('\n').filter(Boolean).length;
      const deploy = async (i) => { // the nodes that use the store, deployed and then redeployed
        const q = p.queue(`redeploy-${i}`, { claimAfterMs: 60000 });
        q.consume(() => Promise.resolve());
        await q.add({ i });
        const d = p.deliveries('wxapp');
        const l = p.locks('tenant');
        await Promise.all([q.close(), d.close(), l.close()]);
      };
      await deploy(0); // the provider's own connections (commands, the shared subscriber) now exist
      for (let i = 0; i < 50 && p.extraClients.size > 1; i++) await sleep(20);
      // Redis lists a connection the client closed until it has read the close: the baseline is
      // taken once the closed reader of deploy 0 is gone from CLIENT LIST (the provider's command
      // connection + its extra ones), or after 5 s as it then stands
      for (let i = 0; i < 250 && (await clients()) > 1 + p.extraClients.size; i++) await sleep(20);
      const before = await clients();
      for (let i = 1; i <= 5; i++) await deploy(i);
      for (let i = 0; i < 250 && (await clients()) > before; i++) await sleep(20);
      assert.equal(await clients(), before, 'queue reader connections left open');
      assert.equal(p.closers.size, 0, 'closed stores kept by the provider');
      assert.equal(p.extraClients.size, 1, 'closed connections kept by the provider (the shared subscriber stays)');
    } finally {
      await p.close();
    }
  });

  it('a damaged token record is no token, and its text goes into no error', async () => {
    const p = await make();
    try {
      await p.cmd(['SET', p.key('wxapp', 'token', 'access'), 'ACCESS_TOKEN_TEXT not json']);
      assert.equal(await p.tokens().get('wxapp'), undefined);
    } finally {
      await p.close();
    }
  });

  it('never shows the password of the URL', () => {
    assert.equal(redactRedisUrl('redis://user:s3cret@host:6379'), 'redis://user:***@host:6379');
  });
});
