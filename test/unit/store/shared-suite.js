'use strict';
/**
 * One behaviour suite for every StoreProvider. `makePair()` returns two providers that share state
 * (two connections = two Node-RED instances); for memory it is the same provider twice.
 */
const assert = require('node:assert/strict');

const { sleep, waitFor } = require('../../helpers/wait');

function storeSuite(name, makePair) {
  describe(`store suite: ${name}`, function () {
    this.timeout(20000);
    let a;
    let b;
    let closeAll;
    beforeEach(async () => {
      ({ a, b, close: closeAll } = await makePair());
    });
    afterEach(async () => {
      await closeAll();
    });

    it('locks: a second holder waits until the first releases, waiters run in FIFO order', async () => {
      const la = a.locks('acct');
      const lb = b.locks('acct');
      const order = [];
      const h1 = await la.acquire('follower-1', { ttlMs: 3000 });
      assert.equal(h1.held, true);
      const p2 = lb.withLock('follower-1', async () => { order.push('second'); }, { ttlMs: 3000, waitMs: 5000 });
      await sleep(50);
      assert.deepEqual(order, [], 'the second holder ran while the first held the lock');
      order.push('first');
      await h1.release();
      assert.equal(h1.held, false);
      await p2;
      assert.deepEqual(order, ['first', 'second']);
    });

    it('locks: different keys do not exclude each other', async () => {
      const h1 = await a.locks('acct').acquire('k1', { ttlMs: 3000 });
      const h2 = await b.locks('acct').acquire('k2', { ttlMs: 3000, waitMs: 100 });
      assert.equal(h1.held && h2.held, true);
      await h1.release();
      await h2.release();
    });

    it('locks: LOCK_TIMEOUT when the lock stays held past waitMs; withLock releases when the task throws', async () => {
      const h1 = await a.locks('acct').acquire('busy', { ttlMs: 5000 });
      await assert.rejects(b.locks('acct').acquire('busy', { ttlMs: 5000, waitMs: 100 }), (e) => e.code === 'LOCK_TIMEOUT');
      await h1.release();
      await assert.rejects(a.locks('acct').withLock('busy', async () => { throw new Error('boom'); }, { ttlMs: 5000 }), /boom/);
      const h3 = await b.locks('acct').acquire('busy', { ttlMs: 5000, waitMs: 1000 });
      assert.equal(h3.held, true);
      await h3.release();
    });

    it('locks: an aborted wait rejects with ABORTED', async () => {
      const h1 = await a.locks('acct').acquire('ab', { ttlMs: 5000 });
      const ac = new AbortController();
      const p = b.locks('acct').acquire('ab', { ttlMs: 5000, waitMs: 5000, signal: ac.signal });
      setTimeout(() => ac.abort(), 30);
      await assert.rejects(p, (e) => e.code === 'ABORTED');
      await h1.release();
    });

    it('deliveries: one first claim; a retry elsewhere waits and is woken by the first write; later claims get the reply', async () => {
      const da = a.deliveries('wxsuite');
      const db = b.deliveries('wxsuite');
      assert.deepEqual(await da.claim('d1', 10000), { first: true });
      assert.deepEqual(await db.claim('d1', 10000), { first: false });
      const reply = { statusCode: 200, contentType: 'application/xml; charset=utf-8', body: '<xml><Content><![CDATA[欢迎]]></Content></xml>' };
      const waiting = db.waitFor('d1', 5000);
      await sleep(30);
      assert.deepEqual(await da.complete('d1', reply), reply);
      assert.deepEqual(await waiting, reply);
      assert.deepEqual(await db.claim('d1', 10000), { first: false, reply });
      // first write wins: a second complete gets the first reply back
      assert.deepEqual(await db.complete('d1', { ...reply, body: 'other' }), reply);
    });

    it('deliveries: `success` (null) is shared as null; waitFor gives null on timeout and on abort', async () => {
      const da = a.deliveries('wxsuite2');
      const db = b.deliveries('wxsuite2');
      await da.claim('s1', 10000);
      assert.equal(await da.complete('s1', null), null);
      assert.deepEqual(await db.claim('s1', 10000), { first: false, reply: null });
      await da.claim('s2', 10000);
      assert.equal(await db.waitFor('s2', 100), null);
      const ac = new AbortController();
      const p = db.waitFor('s2', 600000, ac.signal); // an ignored abort would outlast the test's timeout
      setTimeout(() => ac.abort(), 30);
      assert.equal(await p, null);
    });

    it('tokens: compare-and-delete drops only the failed token', async () => {
      const ta = a.tokens();
      const tb = b.tokens();
      await ta.set('wxapp', { token: 'T1', expiresAt: Date.now() + 60000 });
      assert.equal((await tb.get('wxapp')).token, 'T1');
      await tb.set('wxapp', { token: 'T2', expiresAt: Date.now() + 60000 });
      assert.equal(await ta.delete('wxapp', 'T1'), false, 'deleted a token that was already replaced');
      assert.equal((await ta.get('wxapp')).token, 'T2');
      assert.equal(await ta.delete('wxapp', 'T2'), true);
      assert.equal(await tb.get('wxapp'), undefined);
    });

    it('kv: a value set on one instance is read on the other until its lifetime ends; add only when absent; delete', async () => {
      const ka = a.kv('tenant');
      const kb = b.kv('tenant');
      await ka.set('profile:o1', '{"id":"P1"}', 60000);
      assert.equal(await kb.get('profile:o1'), '{"id":"P1"}');
      assert.equal(await kb.get('profile:o2'), undefined);
      assert.equal(await b.kv('other-tenant').get('profile:o1'), undefined, 'a scope sees only its own keys');
      assert.equal(await ka.add('sma:1', '1', 60000), true);
      assert.equal(await kb.add('sma:1', '1', 60000), false);
      await kb.delete('sma:1');
      assert.equal(await ka.add('sma:1', '1', 60000), true, 'deleted: can be added again');
      await ka.set('short', 'x', 50);
      await sleep(120);
      assert.equal(await kb.get('short'), undefined, 'outlived its lifetime');
    });

    it('work queue: added items are handled once each, with their data, not recovered', async () => {
      const q = a.queue('wq-basic', { claimAfterMs: 60000 });
      const seen = [];
      let resolveAll;
      const all = new Promise((r) => { resolveAll = r; });
      q.consume(async (item) => {
        seen.push(item);
        if (seen.length === 3) resolveAll();
      });
      const ids = [];
      for (let i = 0; i < 3; i++) ids.push(await q.add({ n: i, text: '中文' }));
      await all;
      assert.deepEqual(seen.map((s) => s.data.n).sort(), [0, 1, 2]);
      assert.equal(seen.every((s) => s.recovered === false), true);
      assert.deepEqual(seen.map((s) => s.id).sort(), [...ids].sort());
      assert.equal(seen[0].data.text, '中文');
    });

    it('work queue: items with one order key run one at a time in the order they were added, on either instance; a failed one does not hold up the next', async () => {
      const qa = a.queue('wq-order', { claimAfterMs: 5000 });
      const qb = b === a ? qa : b.queue('wq-order', { claimAfterMs: 5000 });
      const log = [];
      let running = 0;
      const handler = (slow) => async ({ data }) => {
        running++;
        log.push({ key: data.key, n: data.n, overlap: running > 1 && data.key === 'k1' });
        if (slow) await sleep(60);
        running--;
        if (data.fail) throw new Error('dead-lettered');
      };
      qa.consume(handler(true));
      if (qb !== qa) qb.consume(handler(false));
      for (let n = 0; n < 6; n++) await (n % 2 ? qb : qa).add({ key: 'k1', n, fail: n === 1 }, { orderKey: 'k1' });
      await waitFor(() => log.length === 6, { what: 'all handled' });
      assert.deepEqual(log.map((l) => l.n), [0, 1, 2, 3, 4, 5]);
      assert.equal(log.some((l) => l.overlap), false, 'two items of one key ran at once');
    });

    it('work queue: close() waits for the running handler', async () => {
      const q = a.queue('wq-close', { claimAfterMs: 60000 });
      let finished = false;
      let started;
      const startedP = new Promise((r) => { started = r; });
      q.consume(async () => { started(); await sleep(100); finished = true; });
      await q.add({ x: 1 });
      await startedP;
      await q.close();
      assert.equal(finished, true);
    });
  });
}

module.exports = { storeSuite };
