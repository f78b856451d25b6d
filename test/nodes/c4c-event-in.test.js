'use strict';
const assert = require('node:assert/strict');
const http = require('node:http');
const request = require('supertest');
const samples = require('../fixtures/c4c/events-and-replies.samples.json');
const { C4CSimulator, C4C_SERVICE } = require('../../dist/sandbox/c4c');
const { helper, httpIn, ours, httpNodeApp, everythingSaid, nodeRedVersion } = require('../helpers/node-red');
const { useSimulator } = require('../helpers/sims');
const { sleep, waitFor } = require('../helpers/wait');

const USER = 'SANDBOX_USER';
const PASSWORD = 'sandbox-password-42';
const EVENT_USER = 'c4c-events';
const EVENT_PASSWORD = 'ev-pass-Q7';
const NODES = [httpIn, ours('c4c-config'), ours('c4c-event-in')];
const basic = (u = EVENT_USER, p = EVENT_PASSWORD) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

describe(`c4c-event-in over HTTP against the C4C simulator (Node-RED ${nodeRedVersion})`, function () {
  this.timeout(20000);
  let sim;
  let base;
  useSimulator(() => new C4CSimulator({ users: { [USER]: PASSWORD } }), (s, b) => { sim = s; base = b; });
  afterEach(() => helper.unload());
  const lastStatus = (id) => helper._NodePrototype.status.getCalls().filter((c) => c.thisValue.id === id).pop().args[0];

  function flow(node = {}) {
    return [
      { id: 'f1', type: 'tab' },
      { id: 'sys', type: 'c4c-config', baseUrl: base, servicePath: C4C_SERVICE, maxConcurrency: 4, timeout: 10000, retries: 0, backoffBase: 20 },
      { id: 'hget', z: 'f1', type: 'http in', url: '/c4c/events', method: 'get', wires: [['ev']] },
      { id: 'hpost', z: 'f1', type: 'http in', url: '/c4c/events', method: 'post', wires: [['ev']] },
      { id: 'ev', z: 'f1', type: 'c4c-event-in', system: 'sys', readBack: true, collections: '', dedupeWindow: 600, wires: [['out']], ...node },
      { id: 'ncatch', z: 'f1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'out', z: 'f1', type: 'helper', wires: [] },
      { id: 'caught', z: 'f1', type: 'helper', wires: [] },
    ];
  }
  async function load(node = {}, creds = { username: EVENT_USER, password: EVENT_PASSWORD }) {
    await helper.load(NODES, flow(node), { sys: { username: USER, password: PASSWORD }, ev: creds });
    const got = [];
    helper.getNode('out').on('input', (m) => got.push(m));
    return { agent: request(httpNodeApp()), got };
  }
  async function customer(lastName = 'oFollowerEv1') {
    const res = await fetch(`${base}${C4C_SERVICE}/IndividualCustomerCollection?$format=json`, { headers: { Authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`, 'x-csrf-token': 'fetch' } });
    const cookie = res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    const created = await fetch(`${base}${C4C_SERVICE}/IndividualCustomerCollection`, {
      method: 'POST',
      headers: { Authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`, 'x-csrf-token': res.headers.get('x-csrf-token'), Cookie: cookie, 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ FirstName: 'Wechat', LastName: lastName, RoleCode: 'CRM000' }),
    });
    const c = (await created.json()).d.results;
    sim.counters = C4CSimulator.zero();
    return c;
  }
  const event = (objectId, id = 'ev-1', kind = 'Updated') => ({ ...samples.eventNotification, 'event-id': id, 'event-type': `IndividualCustomer.Root.${kind}.v1`, data: { ...samples.eventNotification.data, 'root-entity-id': objectId, 'entity-id': objectId } });
  const feed = (objectId, endpointBase = base) => ({ businessObject: 'CUSTOMER', businessObjectId: objectId, event: 'U', odataServiceEndpoint: `${endpointBase}${C4C_SERVICE}/IndividualCustomerCollection('${objectId}')` });
  const post = (agent, body, auth = basic()) => {
    const r = agent.post('/c4c/events').set('Content-Type', 'application/json');
    return (auth ? r.set('Authorization', auth) : r).send(typeof body === 'string' ? body : JSON.stringify(body));
  };

  it('GET (C4C\'s connectivity check) → 200', async () => {
    const { agent } = await load();
    await agent.get('/c4c/events').expect(200);
  });

  it('an Event Notification → 202, then the customer read back: payload, topic, msg.c4c with the changes', async () => {
    const c = await customer();
    const { agent, got } = await load();
    await post(agent, event(c.ObjectID)).expect(202);
    await waitFor(() => got.length === 1);
    const [m] = got;
    assert.equal(m.topic, 'IndividualCustomer.updated');
    assert.equal(m.payload.CustomerID, c.CustomerID);
    assert.equal(m.payload.LastName, 'oFollowerEv1');
    assert.deepEqual(m.c4c, { businessObject: 'IndividualCustomer', objectId: c.ObjectID, event: 'updated', eventId: 'ev-1', eventTime: samples.eventNotification['event-time'], changes: [{ field: 'Email', old: '', new: 'li.wang@example.com', node: 'Root' }], gone: false });
    assert.equal(m.req, undefined);
  });

  it('the OData feed notification and the CloudEvents envelope are read back alike', async () => {
    const c = await customer();
    const { agent, got } = await load();
    await post(agent, feed(c.ObjectID)).expect(202);
    const cloud = { ...samples.eventNotificationCloudEvents, data: { 'root-entity-id': c.ObjectID, 'entity-id': c.ObjectID } };
    await agent.post('/c4c/events').set('Content-Type', 'application/json').set('Authorization', basic()).send(JSON.stringify(cloud)).expect(202);
    await waitFor(() => got.length === 2);
    assert.deepEqual(got.map((m) => [m.topic, m.payload.CustomerID]).sort(), [['IndividualCustomer.updated', c.CustomerID], ['IndividualCustomer.updated', c.CustomerID]]);
  });

  it('202 comes before a read-back that takes 3 s', async () => {
    const c = await customer();
    const { agent, got } = await load();
    sim.faults.latencyMs = 3000;
    const res = await post(agent, event(c.ObjectID));
    assert.equal(res.status, 202);
    assert.equal(got.length, 0, 'answered before the entity was read');
    await waitFor(() => got.length === 1, { timeoutMs: 10000, what: 'the output after the read-back' });
    assert.equal(got[0].payload.CustomerID, c.CustomerID);
  });

  it('the same event twice (event-id; the old shape: the same body) → one output each', async () => {
    const c = await customer();
    const { agent, got } = await load();
    await post(agent, event(c.ObjectID, 'ev-dup')).expect(202);
    await post(agent, event(c.ObjectID, 'ev-dup')).expect(202);
    await post(agent, feed(c.ObjectID)).expect(202);
    await post(agent, feed(c.ObjectID)).expect(202);
    await post(agent, event(c.ObjectID, 'ev-other')).expect(202);
    await waitFor(() => got.length >= 3);
    await sleep(300);
    assert.deepEqual(got.map((m) => m.c4c.eventId ?? 'feed').sort(), ['ev-dup', 'ev-other', 'feed']);
  });

  it('wrong or missing credentials → 401, nothing read from C4C, no output', async () => {
    const c = await customer();
    const { agent, got } = await load();
    await post(agent, event(c.ObjectID), basic(EVENT_USER, 'wrong')).expect(401);
    await post(agent, event(c.ObjectID), null).expect(401);
    await post(agent, event(c.ObjectID), `Bearer ${EVENT_PASSWORD}`).expect(401);
    await sleep(200);
    assert.equal(sim.stats().requests, 0);
    assert.equal(got.length, 0);
    assert.ok(!everythingSaid().includes(EVENT_PASSWORD));
  });

  it('a body that is not an event → 400, no request', async () => {
    const { agent, got } = await load();
    await post(agent, '{"hello": "world"}').expect(400);
    await agent.post('/c4c/events').set('Content-Type', 'text/plain').set('Authorization', basic()).send('not json').expect(400);
    await post(agent, { 'event-type': 'IndividualCustomer.Root.Updated.v1', data: {} }).expect(400);
    assert.equal(sim.stats().requests, 0);
    assert.equal(got.length, 0);
  });

  it('a foreign odataServiceEndpoint → 400 and no request to that host (a listening decoy counts them) or to C4C', async () => {
    let decoyRequests = 0;
    const decoy = http.createServer((req, res) => { decoyRequests++; res.end('{}'); });
    await new Promise((r) => decoy.listen(0, '127.0.0.1', r));
    const decoyBase = `http://127.0.0.1:${decoy.address().port}`;
    try {
      const c = await customer();
      const { agent, got } = await load();
      await post(agent, feed(c.ObjectID, decoyBase)).expect(400);
      await post(agent, feed(c.ObjectID, base.replace('127.0.0.1', 'localhost'))).expect(400);
      await post(agent, { ...feed(c.ObjectID), odataServiceEndpoint: `${base}/sap/bc/IndividualCustomerCollection('${c.ObjectID}')` }).expect(400);
      await sleep(300);
      assert.equal(decoyRequests, 0);
      assert.equal(sim.stats().requests, 0);
      assert.equal(got.length, 0);
      assert.match(everythingSaid(), /event refused, no request sent|c4c-event-in\.warn\.endpoint/); // the helper's RED._ returns the key
    } finally {
      decoy.close();
    }
  });

  it('deleted → no read-back, payload null; a customer gone meanwhile → msg.c4c.gone', async () => {
    const { agent, got } = await load();
    await post(agent, event('00163E0000000000000000000000DEAD', 'ev-del', 'Deleted')).expect(202);
    await waitFor(() => got.length === 1);
    assert.equal(sim.stats().requests, 0);
    assert.equal(got[0].topic, 'IndividualCustomer.deleted');
    assert.equal(got[0].payload, null);
    await post(agent, event('00163E0000000000000000000000DEAD', 'ev-gone')).expect(202);
    await waitFor(() => got.length === 2);
    assert.equal(got[1].c4c.gone, true);
    assert.equal(got[1].payload, null);
  });

  it('a read-back C4C refuses reaches Catch with its code; the status says so', async () => {
    const c = await customer();
    const { agent } = await load();
    const caught = [];
    helper.getNode('caught').on('input', (m) => caught.push(m));
    sim.injectErrors(500, 1, { kind: 'get' });
    await post(agent, event(c.ObjectID)).expect(202);
    await waitFor(() => caught.length === 1);
    assert.equal(caught[0].error.source.id, 'ev');
    assert.equal(caught[0].c4c.objectId, c.ObjectID);
    assert.equal(caught[0].error.code, 'SIM_500'); // the OData error code C4C answered with
    const status = lastStatus('ev');
    assert.equal(status.fill, 'red');
    assert.match(status.text, /SIM_500/);
  });

  it('no credentials configured: a warning at deploy and events accepted unchecked; an unset ${VAR}: every POST 401', async () => {
    const c = await customer();
    let { agent, got } = await load({}, {});
    assert.match(everythingSaid(), /warn ev: (every POST is accepted unchecked|c4c-event-in\.warn\.no-credentials)/);
    await post(agent, event(c.ObjectID), null).expect(202);
    await waitFor(() => got.length === 1);
    await helper.unload();
    ({ agent, got } = await load({}, { username: '${C4C_EVENT_TEST_UNSET_USER}', password: '${C4C_EVENT_TEST_UNSET_PASSWORD}' }));
    assert.match(everythingSaid(), /warn ev: (C4C_EVENT_TEST_UNSET_USER, C4C_EVENT_TEST_UNSET_PASSWORD is not set|c4c-event-in\.warn\.env-missing)/);
    await post(agent, event(c.ObjectID, 'ev-2'), null).expect(401);
    await post(agent, event(c.ObjectID, 'ev-3'), basic('${C4C_EVENT_TEST_UNSET_USER}', '${C4C_EVENT_TEST_UNSET_PASSWORD}')).expect(401);
  });

  it('credentials left empty fall back to C4C_EVENT_USER / C4C_EVENT_PASSWORD', async () => {
    const c = await customer();
    process.env.C4C_EVENT_USER = 'from-env';
    process.env.C4C_EVENT_PASSWORD = 'env-pass-9';
    try {
      const { agent, got } = await load({}, {});
      assert.doesNotMatch(everythingSaid(), /warn ev:/);
      assert.match(everythingSaid(), /C4C_EVENT_USER, C4C_EVENT_PASSWORD|c4c-event-in\.info\.from-env/); // one log line names them (the helper gives the key)
      await post(agent, event(c.ObjectID, 'ev-env'), basic(EVENT_USER, EVENT_PASSWORD)).expect(401);
      await post(agent, event(c.ObjectID, 'ev-env'), basic('from-env', 'env-pass-9')).expect(202);
      await waitFor(() => got.length === 1);
    } finally {
      delete process.env.C4C_EVENT_USER;
      delete process.env.C4C_EVENT_PASSWORD;
    }
  });
});
