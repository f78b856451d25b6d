'use strict';
const assert = require('node:assert/strict');
const lib = require('../../../dist/lib');

const down = () => Object.assign(new Error('Redis is not connected'), { code: 'STORE_UNAVAILABLE' });

/** A DeliveryStore whose every call fails while `up` is false. */
function flaky() {
  const inner = new lib.MemoryDeliveryStore();
  const s = { up: true, calls: 0 };
  for (const m of ['claim', 'complete', 'waitFor']) {
    s[m] = (...args) => { s.calls++; return s.up ? inner[m](...args) : Promise.reject(down()); };
  }
  s.close = () => inner.close();
  return s;
}

describe('fallback stores (Redis unreachable → this instance\'s memory)', () => {
  it('deliveries: claims fall back to memory while the primary fails, with one report per failure and one recovery', async () => {
    const primary = flaky();
    const errors = [];
    let recovered = 0;
    const store = new lib.FallbackDeliveryStore(primary, new lib.MemoryDeliveryStore(), (e) => errors.push(e.code), () => recovered++);
    assert.deepEqual(await store.claim('k1', 10000), { first: true });
    primary.up = false;
    assert.deepEqual(await store.claim('k2', 10000), { first: true });
    assert.equal(store.degraded, true);
    assert.deepEqual(await store.claim('k2', 10000), { first: false }, 'a retry on this instance is still a retry');
    const reply = { statusCode: 200, contentType: 'application/xml', body: '<xml>r</xml>' };
    const waiting = store.waitFor('k2', 5000);
    assert.deepEqual(await store.complete('k2', reply), reply);
    assert.deepEqual(await waiting, reply);
    primary.up = true;
    // after Redis is back, a retry of a key claimed in memory is still a retry, with its reply
    assert.deepEqual(await store.claim('k2', 10000), { first: false, reply });
    assert.deepEqual(await store.claim('k3', 10000), { first: true });
    assert.equal(store.degraded, false);
    assert.deepEqual(errors, ['STORE_UNAVAILABLE'], 'the second claim of k2 did not go to the primary');
    assert.equal(recovered, 1);
  });

  it('deliveries: other errors are not swallowed', async () => {
    const primary = { claim: () => Promise.reject(new Error('WRONGTYPE')), complete: async (k, r) => r, waitFor: async () => null, close: async () => {} };
    const store = new lib.FallbackDeliveryStore(primary, new lib.MemoryDeliveryStore());
    await assert.rejects(store.claim('k', 1000), /WRONGTYPE/);
  });

  it('tokens: written to both, read from the primary, from memory while it fails; compare-and-delete in both', async () => {
    const shared = new lib.MemorySharedTokenStore();
    let up = true;
    const primary = {
      get: (a) => (up ? shared.get(a) : Promise.reject(down())),
      set: (a, r) => (up ? shared.set(a, r) : Promise.reject(down())),
      delete: (a, t) => (up ? shared.delete(a, t) : Promise.reject(down())),
    };
    const errors = [];
    let recovered = 0;
    const store = new lib.FallbackTokenStore(primary, new lib.MemorySharedTokenStore(), (e) => errors.push(e.code), () => recovered++);
    await store.set('wx1', { token: 'T1', expiresAt: Date.now() + 60000 });
    await shared.set('wx1', { token: 'T2', expiresAt: Date.now() + 60000 }); // another instance renewed it
    assert.equal((await store.get('wx1')).token, 'T2');
    up = false;
    assert.equal((await store.get('wx1')).token, 'T1', 'this instance\'s copy while Redis is away');
    assert.equal(await store.delete('wx1', 'T1'), true);
    assert.equal(await store.get('wx1'), undefined);
    up = true;
    assert.equal(await store.delete('wx1', 'T1'), false, 'the shared one is T2: not deleted');
    assert.equal((await store.get('wx1')).token, 'T2');
    assert.ok(errors.length >= 2 && errors.every((c) => c === 'STORE_UNAVAILABLE'));
    assert.equal(recovered, 1, 'Redis answering again was not reported once');
  });
});
