'use strict';
/** C4C change events across instances: two pipelines on two store providers sharing one real redis-server. */
const assert = require('node:assert/strict');
const { RedisStoreProvider } = require('../../dist/lib');
const { EventPipeline, parseEvent } = require('../../dist/lib/c4c/events');
const { startRedis } = require('../helpers/redis');
const { needPrograms } = require('../helpers/programs');
const { sleep, waitFor } = require('../helpers/wait');

async function connected(p) {
  await waitFor(() => p.healthy, { timeoutMs: 5000, what: 'Redis connected' });
  return p;
}

describe('C4C change events on two instances (real redis-server)', function () {
  this.timeout(30000);
  let redis;
  const providers = [];
  const pipelines = [];
  before(async function () {
    needPrograms(this, 'redis-server');
    redis = await startRedis();
  });
  after(async () => { await redis?.stop(); });
  afterEach(async () => {
    for (const p of pipelines.splice(0)) await p.close();
    for (const p of providers.splice(0)) await p.close();
  });

  let n = 0;
  /** Two "instances" of one c4c-event-in node: the same queue name and dedupe scope, their own provider. */
  async function instances(reader) {
    const prefix = `ev${++n}:`;
    const out = [];
    for (let i = 0; i < 2; i++) {
      const store = await connected(new RedisStoreProvider({ url: redis.url, prefix, commandTimeoutMs: 2000 }));
      providers.push(store);
      pipelines.push(new EventPipeline({
        queue: store.queue('c4c-event-in:node1', { claimAfterMs: 1000 }), deliveries: store.deliveries('c4c-events:tenant:node1'), locks: store.locks('c4c-events:tenant:node1'),
        dedupeWindowMs: 60000, reader: () => reader, readBack: true, emit: (o) => out.push({ instance: i, ...o }), fail: () => undefined,
      }));
    }
    return out;
  }
  const ev = (id, objectId = 'K1') => parseEvent({ 'event-type': 'IndividualCustomer.Root.Updated.v1', 'event-id': id, data: { 'root-entity-id': objectId } }, { tenant: 'https://my000000.crm.ondemand.com' }).event;

  it('the same event accepted by both instances → one output; other events one each', async () => {
    let reads = 0;
    const reader = { get: async (path, q, what, opts) => { reads++; return { status: 200, headers: {}, data: [{ ObjectID: opts.lookup.value }] }; } };
    const out = await instances(reader);
    await pipelines[0].accept(ev('same'));
    await pipelines[1].accept(ev('same'));
    await pipelines[1].accept(ev('other', 'K2'));
    await waitFor(() => out.length >= 2, { timeoutMs: 10000, what: 'two outputs' });
    await sleep(1500);
    assert.deepEqual(out.map((o) => o.c4c.eventId).sort(), ['other', 'same']);
    assert.equal(reads, 2);
  });

  it('events of one object: one read-back at a time across both instances', async () => {
    let inFlight = 0;
    let max = 0;
    const reader = { get: async (path, q, what, opts) => { inFlight++; max = Math.max(max, inFlight); await sleep(100); inFlight--; return { status: 200, headers: {}, data: [{ ObjectID: opts.lookup.value }] }; } };
    const out = await instances(reader);
    for (let i = 0; i < 6; i++) await pipelines[i % 2].accept(ev(`e${i}`));
    await waitFor(() => out.length === 6, { timeoutMs: 15000, what: 'six outputs' });
    assert.equal(max, 1);
  });
});
