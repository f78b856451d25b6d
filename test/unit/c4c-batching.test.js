'use strict';
// Batching towards C4C through the real client + CustomerService against the simulator:
// only requests that wait for a slot combine; results go back to their own follower exactly.
// Requests are counted on the simulator (what C4C sees). No timing assertions: latency only makes
// requests queue.
const assert = require('node:assert/strict');
const lib = require('../../dist/lib');
const { C4CSimulator } = require('../../dist/sandbox/c4c');
const { useSimulator } = require('../helpers/sims');
const { waitFor } = require('../helpers/wait');

const USER = 'SANDBOX_USER';
const PASSWORD = 'sandbox-password';

describe('C4C batching: lookups combined into or-filters, creates into $batch', function () {
  this.timeout(60000);
  let sim;
  let base;
  useSimulator(() => new C4CSimulator({ users: { [USER]: PASSWORD } }), (s, b) => { sim = s; base = b; });

  const request = (lastName, extra = {}) => ({ entitySet: 'IndividualCustomerCollection', body: { RoleCode: 'CRM000', FirstName: 'Wechat', LastName: lastName, ...extra }, lookup: true, lookupField: 'LastName' });
  // 50 followers; pairs differ only in case (C4C compares names without case: an or-filter brings both back)
  const names = Array.from({ length: 50 }, (_, i) => (i % 2 ? `oFan${i >> 1}` : `OFAN${i >> 1}`));

  /** A client + service with $metadata read (its GET carried the CSRF fetch) before counting starts. */
  async function warm(opts = {}) {
    const client = new lib.C4CClient({ baseUrl: base, username: USER, password: PASSWORD, ...opts, retry: { baseMs: 20, maxMs: 200, ...opts.retry } });
    const svc = new lib.CustomerService(client, { settleMs: 400 });
    await svc.metadataFor('IndividualCustomerCollection');
    assert.equal(sim.stats().metadata, 1);
    assert.equal(sim.stats().csrfFetches, 1, 'the token came with the $metadata read');
    return { client, svc, start: sim.stats().requests };
  }

  /** A UUID that another customer already has: C4C refuses a create that sends it (400). */
  function occupied(uuid) {
    sim.customers.push({ ObjectID: 'F'.repeat(32), CustomerID: '999', UUID: uuid, LastName: 'someone else', LifeCycleStatusCode: '2' });
    return uuid;
  }

  /** Occupy every slot with a slow read, so that the followers queue behind a busy C4C. */
  function busy(client, slots) {
    return Array.from({ length: slots }, () => client.get('IndividualCustomerCollection', { $top: '1' }, 'busy'));
  }

  it('a lone follower costs exactly 2 requests (lookup + create), unbatched', async () => {
    const { svc, start } = await warm();
    const r = await svc.createOrFind(request('oLone'));
    assert.equal(r.created, true);
    assert.equal(sim.stats().requests - start, 2);
    assert.equal(sim.stats().gets, 2, '$metadata + lookup');
    assert.equal(sim.stats().batches, 0, 'no $batch for a lone create');
    assert.equal(sim.customers.length, 1);
  });

  it('50 follows queued behind a slow C4C become at most 6 requests; each follower gets its own customer, case included', async () => {
    const { client, svc, start } = await warm({ maxConcurrency: 2, batchSize: 20 });
    sim.faults.latencyMs = 100;
    sim.faults.perOperationMs = 2;
    const blockers = busy(client, 2);
    const results = await Promise.all(names.map((n) => svc.createOrFind(request(n))));
    await Promise.all(blockers);
    const used = sim.stats().requests - start - 2; // the 2 blocking reads are not the followers'
    assert.ok(used <= 6, `${used} requests for 50 follows: ${JSON.stringify(sim.stats().byKind)}`);
    assert.ok(sim.stats().batches >= 1, 'creates went in $batch');
    assert.equal(sim.customers.length, 50, 'one customer per follower, no duplicates');
    results.forEach((r, i) => {
      assert.equal(r.created, true, names[i]);
      const own = sim.customers.find((c) => c.CustomerID === r.customerId);
      assert.equal(own.LastName, names[i], `${names[i]} got ${own.LastName}'s customer`);
    });
    assert.equal(new Set(results.map((r) => r.customerId)).size, 50);

    // The same 50 again: combined lookups find each one's own customer (exact, case-sensitive), nothing created.
    const before = sim.stats().requests;
    const blockers2 = busy(client, 2);
    const again = await Promise.all(names.map((n) => svc.createOrFind(request(n))));
    await Promise.all(blockers2);
    assert.ok(sim.stats().requests - before - 2 <= 4, 'returning followers: combined lookups only');
    again.forEach((r, i) => {
      assert.equal(r.created, false);
      assert.equal(r.customerId, results[i].customerId, names[i]);
      assert.equal(r.matches, 1, `${names[i]} matched exactly one customer`);
    });
    assert.equal(sim.customers.length, 50);
  });

  it('one create refused inside a $batch fails alone with C4C\'s message; the other 49 are created', async () => {
    const { client, svc } = await warm({ maxConcurrency: 2 });
    const taken = occupied('0a1b2c3d-0000-4000-8000-000000000001');
    sim.faults.latencyMs = 100;
    const blockers = busy(client, 2);
    const outcomes = await Promise.all(names.map((n, i) => svc.createOrFind(request(n, i === 17 ? { UUID: taken } : {})).then((r) => r, (e) => e)));
    await Promise.all(blockers);
    assert.ok(sim.stats().batches >= 1, 'the creates went in $batch');
    const failed = outcomes.filter((o) => o instanceof Error);
    assert.equal(failed.length, 1);
    assert.equal(outcomes[17], failed[0]);
    assert.match(failed[0].message, /Instance with UUID 0a1b2c3d-0000-4000-8000-000000000001 already exists/);
    assert.equal(failed[0].statusCode, 400);
    assert.equal(outcomes.filter((o) => !(o instanceof Error) && o.created).length, 49);
    assert.equal(sim.customers.length, 50, '49 new + the one that was there');
  });

  // Creates without a lookup, each with its own UUID (idempotentCreate): every one waiting behind
  // the blocking read joins the same $batch, and an unknown outcome settles by a UUID lookup.
  const idempotent = (lastName, extra = {}) => ({ ...request(lastName, extra), lookup: false, idempotentCreate: true });

  it('a $batch of 20 creates at 150 ms per create, 2 s timeout: it gets 20 × 2 s, all 20 created, no settle lookups, no duplicates', async () => {
    const { client, svc } = await warm({ maxConcurrency: 1, timeoutMs: 2000 });
    sim.faults.latencyMs = 150; // per request, and per create inside a $batch (what a create costs alone): the $batch takes ~3 s
    const blockers = busy(client, 1);
    const twenty = names.slice(0, 20);
    const results = await Promise.all(twenty.map((n) => svc.createOrFind(idempotent(n))));
    await Promise.all(blockers);
    assert.equal(sim.stats().batches, 1, JSON.stringify(sim.stats().byKind));
    assert.equal(sim.stats().batchOperations, 20, 'one $batch of 20 creates');
    assert.equal(client.stats.wholeFailures, 0, 'the $batch did not time out');
    assert.equal(svc.stats.settleLookups, 0, 'no outcome unknown');
    assert.equal(sim.customers.length, 20, 'no duplicates');
    results.forEach((r, i) => {
      assert.equal(r.created, true);
      assert.equal(sim.customers.find((c) => c.CustomerID === r.customerId).LastName, twenty[i]);
    });
  });

  it('a $batch that times out while C4C is still working through it (each create 2 × the timeout): its creates settle as long as C4C may still commit them, none created twice', async () => {
    const { client } = await warm({ maxConcurrency: 1, timeoutMs: 300, retry: { retries: 0 } });
    const svc = new lib.CustomerService(client, { timeoutMs: 300 }); // the default settle period: 2 × the timeout
    sim.faults.latencyMs = 50;
    sim.faults.perOperationMs = 600; // a create in the $batch takes 2 × the timeout; alone it would be settled in time
    const blockers = busy(client, 1);
    const four = ['oSlow1', 'oSlow2', 'oSlow3', 'oSlow4'];
    const outcomes = await Promise.all(four.map((n) => svc.createOrFind(request(n)).then((r) => r, (e) => e)));
    await Promise.all(blockers);
    // C4C finishes the $batch it was given (the simulator counts its operations when it has run them all)
    await waitFor(() => sim.stats().batchOperations >= 4, { timeoutMs: 5000, what: 'C4C to finish the $batch' });
    assert.equal(sim.stats().batchOperations, 4);
    assert.equal(sim.stats().batches, 1, JSON.stringify(sim.stats().byKind));
    assert.equal(client.stats.wholeFailures, 1, 'the $batch timed out as a whole');
    for (const n of four) assert.equal(sim.customers.filter((c) => c.LastName === n).length, 1, `${n} created exactly once (${JSON.stringify(outcomes.map((o) => o.message ?? o.created))})`);
  });

  it('a $batch that C4C stops after changeset 2 of 3: follower 1 created, follower 2 gets C4C\'s message, follower 3 settled by lookup and created once', async () => {
    const { client, svc } = await warm({ maxConcurrency: 1 });
    const taken = occupied('0a1b2c3d-0000-4000-8000-000000000002');
    sim.faults.latencyMs = 50;
    const blockers = busy(client, 1);
    const outcomes = await Promise.all(['oStop1', 'oStop2', 'oStop3'].map((n, i) => svc.createOrFind(idempotent(n, i === 1 ? { UUID: taken } : {})).then((r) => r, (e) => e)));
    await Promise.all(blockers);
    assert.equal(sim.stats().batches, 1, 'the three creates went in one $batch');
    assert.equal(client.stats.wholeFailures, 0, 'not a failure of the whole $batch');
    const [one, two, three] = outcomes;
    assert.equal(one.created, true);
    assert.equal(sim.customers.find((c) => c.CustomerID === one.customerId).LastName, 'oStop1');
    assert.ok(two instanceof Error);
    assert.equal(two.statusCode, 400);
    assert.notEqual(two.ambiguous, true, 'a definite refusal');
    assert.match(two.message, /Instance with UUID 0a1b2c3d-0000-4000-8000-000000000002 already exists/);
    assert.equal(three.created, true);
    assert.equal(svc.stats.settleLookups, 1, 'the unanswered create was looked up once (C4C had finished the $batch) before it was sent again');
    assert.equal(sim.customers.filter((c) => c.LastName === 'oStop3').length, 1, 'follower 3 created exactly once');
    assert.equal(sim.customers.filter((c) => c.LastName === 'oStop1').length, 1, 'follower 1 not sent again');
    assert.equal(sim.customers.length, 3, 'followers 1 and 3 + the one that was there');
  });

  it('batchSize 1 never combines', async () => {
    const { client, svc, start } = await warm({ maxConcurrency: 2, batchSize: 1 });
    sim.faults.latencyMs = 20;
    const blockers = busy(client, 2);
    await Promise.all(names.slice(0, 10).map((n) => svc.createOrFind(request(n))));
    await Promise.all(blockers);
    assert.equal(sim.stats().batches, 0);
    assert.equal(sim.stats().requests - start - 2, 20, 'a lookup and a create each');
    assert.equal(sim.customers.length, 10);
  });

  it('a $batch that fails as a whole (503) is retried as its parts: every follower created once', async () => {
    // one slot: every create waits, so the first POST is a $batch
    const { client, svc } = await warm({ maxConcurrency: 1 });
    sim.faults.latencyMs = 50;
    const blockers = busy(client, 1);
    // the first POST (the first $batch) fails as a whole
    sim.injectErrors(503, 1, { kind: 'post' });
    const results = await Promise.all(names.slice(0, 12).map((n) => svc.createOrFind(request(n))));
    await Promise.all(blockers);
    assert.equal(sim.stats().injected, 1, JSON.stringify(sim.stats().byKind));
    assert.equal(client.stats.wholeFailures, 1, 'the $batch failed as a whole');
    assert.equal(sim.customers.length, 12, 'no follower lost, none created twice');
    results.forEach((r, i) => assert.equal(sim.customers.find((c) => c.CustomerID === r.customerId).LastName, names[i]));
  });

  it('a $batch that C4C refuses as a whole (400, 413: nothing in it run) is sent again as its parts: every follower created once', async () => {
    const { client, svc } = await warm({ maxConcurrency: 1 });
    sim.faults.latencyMs = 50;
    const blockers = busy(client, 1);
    sim.injectErrors(413, 1, { kind: 'post', body: { error: { code: '', message: { lang: 'en', value: 'Request entity too large' } } } });
    const outcomes = await Promise.all(names.slice(0, 6).map((n) => svc.createOrFind(request(n)).then((r) => r, (e) => e)));
    await Promise.all(blockers);
    assert.equal(sim.stats().injected, 1, JSON.stringify(sim.stats().byKind));
    assert.equal(client.stats.wholeFailures, 1, 'the $batch failed as a whole');
    assert.deepEqual(outcomes.map((o) => o.message ?? o.created), Array(6).fill(true));
    assert.equal(sim.customers.length, 6, 'no follower lost, none created twice');
  });

  it('an expired CSRF token on a $batch: refetched once, the parts sent again, every follower created once', async () => {
    const { client, svc } = await warm({ maxConcurrency: 1 });
    sim.faults.latencyMs = 30;
    sim.expireCsrf();
    const blockers = busy(client, 1);
    const results = await Promise.all(names.slice(0, 10).map((n) => svc.createOrFind(request(n))));
    await Promise.all(blockers);
    assert.ok(sim.stats().csrfRejected >= 1, 'the $batch met the expired token');
    assert.equal(sim.stats().csrfFetches, 2, 'one refetch, shared');
    assert.equal(sim.customers.length, 10);
    results.forEach((r, i) => assert.equal(sim.customers.find((c) => c.CustomerID === r.customerId).LastName, names[i]));
  });

  it('a $batch whose connection drops after the commit: the creates settle by lookup, none created twice', async () => {
    const { client, svc } = await warm({ maxConcurrency: 2 });
    sim.faults.latencyMs = 50;
    sim.slowCommit({ count: 1, drop: true });
    const blockers = busy(client, 2);
    const results = await Promise.all(names.slice(0, 8).map((n) => svc.createOrFind(request(n))));
    await Promise.all(blockers);
    assert.ok(svc.stats.settleLookups >= 1, 'the ambiguous creates were looked up');
    assert.equal(sim.customers.length, 8);
    results.forEach((r, i) => assert.equal(sim.customers.find((c) => c.CustomerID === r.customerId).LastName, names[i]));
  });
  it('a combined lookup cut at C4C\'s 1,000 rows: each follower is asked alone and pages on; one whose first 1,000 rows are obsolete finds its active customer (no second one)', async () => {
    // oCut: 1,000 obsolete customers first, the active one after them (beyond the combined answer's cut)
    for (let i = 0; i < 1000; i++) sim.customers.push({ ObjectID: `OBS${String(i).padStart(29, '0')}`, CustomerID: String(10000 + i), LastName: 'oCut', LifeCycleStatusCode: '4' });
    sim.customers.push({ ObjectID: 'A'.repeat(32), CustomerID: '20000', LastName: 'oCut', LifeCycleStatusCode: '2' });
    const { client, svc } = await warm({ maxConcurrency: 1, batchSize: 20 });
    const before = sim.customers.length;
    const blockers = busy(client, 1);
    const results = await Promise.all(['oCut', 'oNew1', 'oNew2'].map((n) => svc.createOrFind(request(n))));
    await Promise.all(blockers);
    assert.equal(client.stats.combinedLookups >= 1, true, 'the lookups were combined');
    assert.equal(results[0].created, false);
    assert.equal(results[0].customerId, '20000');
    assert.deepEqual(results.slice(1).map((r) => r.created), [true, true]);
    assert.equal(sim.customers.length, before + 2, 'no second customer for oCut');
  });
});
