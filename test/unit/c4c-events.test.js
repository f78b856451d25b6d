'use strict';
const assert = require('node:assert/strict');
const samples = require('../fixtures/c4c/events-and-replies.samples.json');
const { basicAuthOk: checkBasic } = require('../../dist/lib/http/basic-auth');
const { parseEvent, checkEndpoint, parseCollections, readBack, EventPipeline, changedFieldNames, DEFAULT_COLLECTIONS } = require('../../dist/lib/c4c/events');
const { C4CClient, C4CError, MemoryStoreProvider } = require('../../dist/lib');
const { C4CSimulator } = require('../../dist/sandbox/c4c');
const { useSimulator } = require('../helpers/sims');
const { waitFor } = require('../helpers/wait');

const TENANT = 'https://my000000.crm.ondemand.com';
const ID = '00163E0AE1DD1EDA9FB8A1C5C6D7E8F9';
const parse = (body, tenant = TENANT) => parseEvent(body, { tenant });

describe('C4C change events: the shapes', () => {
  it('the OData feed notification: object from the endpoint\'s entity set, key, event, a body digest as dedupe key', () => {
    const r = parse(samples.odataFeedNotification);
    assert.equal(r.ok, true);
    assert.deepEqual({ ...r.event, key: undefined }, { shape: 'feed', businessObject: 'IndividualCustomer', objectId: ID, event: 'updated', changes: null, entitySet: 'IndividualCustomerCollection', key: undefined });
    assert.match(r.event.key, /^body:[0-9a-f]{64}$/);
    // the same body → the same key; another body → another
    assert.equal(parse(JSON.stringify(samples.odataFeedNotification)).event.key, r.event.key);
    assert.notEqual(parse({ ...samples.odataFeedNotification, event: 'C' }).event.key, r.event.key);
  });

  it('the feed\'s event values: C/U/D and Create(d)/Update(d)/Delete(d), any case; anything else is refused', () => {
    for (const [v, kind] of [['C', 'created'], ['create', 'created'], ['Created', 'created'], ['u', 'updated'], ['UPDATE', 'updated'], ['D', 'deleted'], ['Deleted', 'deleted']]) {
      assert.equal(parse({ ...samples.odataFeedNotification, event: v }).event.event, kind, v);
    }
    for (const v of ['X', '', undefined, 'Changed']) assert.deepEqual(parse({ ...samples.odataFeedNotification, event: v }).reason, 'shape', String(v));
  });

  it('the Event Notification: type, id, time, root entity id, the enhanced payload\'s changed fields', () => {
    const r = parse(samples.eventNotification);
    assert.equal(r.ok, true);
    assert.deepEqual(r.event, {
      shape: 'event', businessObject: 'IndividualCustomer', objectId: ID, event: 'updated', eventId: samples.eventNotification['event-id'],
      eventTime: '2026-12-06T09:15:02Z', changes: [{ field: 'Email', old: '', new: 'li.wang@example.com', node: 'Root' }], entitySet: 'IndividualCustomerCollection', key: `id:${samples.eventNotification['event-id']}`,
    });
    assert.deepEqual(changedFieldNames(r.event.changes), ['Email']);
  });

  it('the CloudEvents envelope: type and id from the envelope, no changes → null', () => {
    const r = parse(samples.eventNotificationCloudEvents);
    assert.equal(r.ok, true);
    assert.equal(r.event.shape, 'cloudevents');
    assert.equal(r.event.event, 'updated');
    assert.equal(r.event.eventId, samples.eventNotificationCloudEvents.id);
    assert.equal(r.event.changes, null);
    assert.equal(r.event.key, `id:${samples.eventNotificationCloudEvents.id}`);
  });

  it('created / deleted, the collections map (defaults and own), an unmapped object has no entity set', () => {
    const ev = (type, extra = {}) => ({ 'event-type': type, 'event-id': 'e1', data: { 'entity-id': 'K1' }, ...extra });
    assert.equal(parse(ev('ServiceRequest.Root.Created.v1')).event.entitySet, 'ServiceRequestCollection');
    assert.equal(parse(ev('Opportunity.Root.Deleted.v1')).event.event, 'deleted');
    assert.equal(parse(ev('Lead.Root.Updated.v1')).event.entitySet, undefined);
    const own = parseCollections('{"Lead": "LeadCollection"}');
    assert.equal(parseEvent(ev('Lead.Root.Updated.v1'), { tenant: TENANT, collections: own }).event.entitySet, 'LeadCollection');
    assert.equal(own.IndividualCustomer, DEFAULT_COLLECTIONS.IndividualCustomer);
    assert.throws(() => parseCollections('[1]'));
    assert.throws(() => parseCollections('{"Lead": "x y"}'));
    assert.throws(() => parseCollections('{'));
  });

  it('bodies that are none of the shapes → refused as shape (400)', () => {
    for (const body of [null, 'not json', '[]', 42, {}, { hello: 1 }, { 'event-type': 'Customer.Updated', 'event-id': 'x', data: { 'entity-id': 'K' } },
      { 'event-type': 'IndividualCustomer.Root.Updated.v1', data: { 'entity-id': 'K' } },
      { 'event-type': 'IndividualCustomer.Root.Updated.v1', 'event-id': 'x' },
      { 'event-type': 'IndividualCustomer.Root.Updated.v1', 'event-id': 'x', data: { 'entity-id': "K'); DROP" } },
      { specversion: '1.0', id: 'x', data: { 'entity-id': 'K' } },
      { ...samples.odataFeedNotification, businessObjectId: 'ANOTHER' }]) {
      const r = parse(body);
      assert.equal(r.ok, false, JSON.stringify(body));
      assert.equal(r.reason, 'shape', JSON.stringify(body));
    }
  });
});

describe('C4C change events: odataServiceEndpoint is followed only on the tenant', () => {
  const feed = (endpoint) => parse({ ...samples.odataFeedNotification, odataServiceEndpoint: endpoint });
  it('another host, scheme or port, credentials in the URL, a path outside /sap/c4c/odata/ → refused as endpoint', () => {
    for (const url of [
      `https://evil.example/sap/c4c/odata/v1/c4codataapi/IndividualCustomerCollection('${ID}')`,
      `https://my000000.crm.ondemand.com.evil.example/sap/c4c/odata/v1/c4codataapi/IndividualCustomerCollection('${ID}')`,
      `http://my000000.crm.ondemand.com/sap/c4c/odata/v1/c4codataapi/IndividualCustomerCollection('${ID}')`,
      `https://my000000.crm.ondemand.com:8443/sap/c4c/odata/v1/c4codataapi/IndividualCustomerCollection('${ID}')`,
      `https://user:pw@my000000.crm.ondemand.com/sap/c4c/odata/v1/c4codataapi/IndividualCustomerCollection('${ID}')`,
      `https://my000000.crm.ondemand.com/sap/bc/adt/IndividualCustomerCollection('${ID}')`,
      `https://my000000.crm.ondemand.com/sap/c4c/odata/../../bc/IndividualCustomerCollection('${ID}')`,
      `https://my000000.crm.ondemand.com/sap/c4c/odata/%2e%2e/bc/IndividualCustomerCollection('${ID}')`,
      `//evil.example/sap/c4c/odata/v1/c4codataapi/IndividualCustomerCollection('${ID}')`,
      'not a url',
    ]) {
      const r = feed(url);
      assert.equal(r.ok, false, url);
      assert.equal(r.reason, 'endpoint', url);
    }
  });
  it('the tenant itself: host case and the default port do not matter; the entity set and key come from the URL', () => {
    const r = checkEndpoint(`https://MY000000.crm.ondemand.com:443/sap/c4c/odata/v1/c4codataapi/CorporateAccountCollection('ABC')?$format=json`, TENANT);
    assert.deepEqual(r, { ok: true, entitySet: 'CorporateAccountCollection', key: 'ABC' });
    assert.equal(checkEndpoint(`${TENANT}/sap/c4c/odata/v1/c4codataapi/IndividualCustomerCollection`, TENANT).ok, false, 'a collection, not one entity');
  });
});

describe('C4C change events: the Basic check', () => {
  const basic = (u, p) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
  it('right credentials pass; wrong, missing, other schemes do not; none configured → everything passes', () => {
    assert.equal(checkBasic(basic('c4c', 'pw:1'), 'c4c', 'pw:1'), true);
    assert.equal(checkBasic(basic('c4c', 'pw:2'), 'c4c', 'pw:1'), false);
    assert.equal(checkBasic(basic('C4C', 'pw:1'), 'c4c', 'pw:1'), false);
    assert.equal(checkBasic(undefined, 'c4c', 'pw:1'), false);
    assert.equal(checkBasic('Bearer abc', 'c4c', 'pw:1'), false);
    assert.equal(checkBasic('Basic ', 'c4c', 'pw:1'), false);
    assert.equal(checkBasic(undefined, '', ''), true);
  });
});

describe('C4C change events: read-back and order', () => {
  const USER = 'SANDBOX_USER';
  const PASSWORD = 'sandbox-password-42';
  let sim;
  let base;
  useSimulator(() => new C4CSimulator({ users: { [USER]: PASSWORD } }), (s, b) => { sim = s; base = b; });
  const client = (opts = {}) => new C4CClient({ baseUrl: base, username: USER, password: PASSWORD, retry: { retries: 0 }, timeoutMs: 5000, ...opts });
  async function customers(n) {
    const c = client();
    const out = [];
    for (let i = 0; i < n; i++) out.push((await c.post('IndividualCustomerCollection', { FirstName: 'Wechat', LastName: `oEv${i}`, RoleCode: 'CRM000' })).data);
    c.close();
    return out;
  }

  it('reads the entity by ObjectID; an object that is not there (any more) → gone', async () => {
    const [cust] = await customers(1);
    const c = client();
    const r = await readBack(c, 'IndividualCustomerCollection', cust.ObjectID);
    assert.equal(r.gone, false);
    assert.equal(r.entity.CustomerID, cust.CustomerID);
    assert.deepEqual(await readBack(c, 'IndividualCustomerCollection', 'NOPE'), { entity: null, gone: true });
    c.close();
  });

  it('a 404 is gone; other errors are errors', async () => {
    const notFound = { get: async () => { throw new C4CError('C4C event read-back failed: 404', 'C4C_404', 404); } };
    assert.deepEqual(await readBack(notFound, 'XCollection', 'K'), { entity: null, gone: true });
    const down = { get: async () => { throw new C4CError('C4C event read-back failed: 503', 'C4C_503', 503); } };
    await assert.rejects(readBack(down, 'XCollection', 'K'), /503/);
  });

  it('read-backs waiting for a slot are combined into one GET', async () => {
    const list = await customers(8);
    sim.counters = C4CSimulator.zero();
    sim.faults.latencyMs = 100;
    const c = client({ maxConcurrency: 1 });
    const got = await Promise.all(list.map((x) => readBack(c, 'IndividualCustomerCollection', x.ObjectID)));
    assert.deepEqual(got.map((g) => g.entity.ObjectID), list.map((x) => x.ObjectID));
    assert.ok(sim.stats().gets <= 3, `GETs: ${sim.stats().gets}`);
    c.close();
  });
});

describe('C4C change events: the pipeline (memory store)', () => {
  function pipeline(reader, opts = {}) {
    const store = new MemoryStoreProvider();
    const out = [];
    const failed = [];
    const dropped = [];
    const p = new EventPipeline({
      queue: store.queue('q', { claimAfterMs: 1000 }), deliveries: store.deliveries('s'), dedupeWindowMs: 60000,
      reader: () => reader, readBack: true, emit: (o) => out.push(o), fail: (e) => failed.push(e), duplicate: (e) => dropped.push(e), ...opts,
    });
    return { p, out, failed, dropped };
  }
  const ev = (id, type = 'IndividualCustomer.Root.Updated.v1', objectId = 'K1') => parse({ 'event-type': type, 'event-id': id, 'event-time': 't', data: { 'root-entity-id': objectId } }).event;

  it('one output per event id; deleted → no read-back, payload null', async () => {
    let reads = 0;
    const reader = { get: async (path, q, what, opts) => { reads++; return { status: 200, headers: {}, data: [{ ObjectID: opts.lookup.value, CustomerID: '1000001' }] }; } };
    const { p, out, dropped } = pipeline(reader);
    await p.accept(ev('e1'));
    await p.accept(ev('e1'));
    await p.accept(ev('e2', 'IndividualCustomer.Root.Deleted.v1'));
    await waitFor(() => out.length === 2 && dropped.length === 1);
    assert.equal(reads, 1);
    assert.deepEqual(out.map((o) => [o.topic, o.c4c.eventId, o.payload && o.payload.CustomerID]), [['IndividualCustomer.updated', 'e1', '1000001'], ['IndividualCustomer.deleted', 'e2', null]]);
    assert.deepEqual(out[0].c4c, { businessObject: 'IndividualCustomer', objectId: 'K1', event: 'updated', eventId: 'e1', eventTime: 't', changes: null, gone: false });
    await p.close();
  });

  it('events of one object are read back one at a time, in arrival order', async () => {
    let inFlight = 0;
    let max = 0;
    const order = [];
    const reader = { get: async (path, q, what, opts) => { inFlight++; max = Math.max(max, inFlight); order.push(opts.lookup.value); await new Promise((r) => setTimeout(r, 20)); inFlight--; return { status: 200, headers: {}, data: [{ ObjectID: opts.lookup.value }] }; } };
    const { p, out } = pipeline(reader);
    for (let i = 0; i < 5; i++) await p.accept(ev(`e${i}`));
    await waitFor(() => out.length === 5);
    assert.equal(max, 1);
    assert.deepEqual(out.map((o) => o.c4c.eventId), ['e0', 'e1', 'e2', 'e3', 'e4']);
    await p.close();
  });

  it('a read-back that fails reaches fail() once, nothing is sent; an unmapped object fails as C4C_INPUT without a request', async () => {
    let reads = 0;
    const reader = { get: async () => { reads++; throw new C4CError('C4C event read-back failed: 500', 'C4C_500', 500); } };
    const { p, out, failed } = pipeline(reader);
    await p.accept(ev('e1'));
    await p.accept(ev('e2', 'Lead.Root.Updated.v1'));
    await waitFor(() => failed.length === 2);
    assert.equal(out.length, 0);
    assert.equal(reads, 1);
    assert.deepEqual(failed.map((e) => e.code).sort(), ['C4C_500', 'C4C_INPUT']);
    await p.close();
  });

  it('readBack off: the event alone, no request', async () => {
    const reader = { get: async () => { throw new Error('no request expected'); } };
    const { p, out } = pipeline(reader, { readBack: false });
    await p.accept(ev('e1'));
    await waitFor(() => out.length === 1);
    assert.equal(out[0].payload, null);
    assert.equal(out[0].c4c.gone, false);
    await p.close();
  });
});
