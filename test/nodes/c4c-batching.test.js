'use strict';
// c4c-config batchSize through the nodes: a burst behind a slow tenant goes in $batch; one refused
// customer reaches Catch alone with C4C's message, the creates after it in a $batch C4C stopped are
// looked up and created once; a lone follower is not batched.
const assert = require('node:assert/strict');
const { C4CSimulator } = require('../../dist/sandbox/c4c');
const { helper, ours, nodeRedVersion } = require('../helpers/node-red');
const { useSimulator } = require('../helpers/sims');
const { waitFor } = require('../helpers/wait');

const USER = 'SANDBOX_USER';
const PASSWORD = 'sandbox-password-42';
const NODES = [ours('c4c-config'), ours('c4c-create-customer')];
const TAKEN = '0a1b2c3d-0000-4000-8000-0000000000aa';

describe(`c4c-config batchSize: batching through the nodes (Node-RED ${nodeRedVersion})`, function () {
  this.timeout(30000);
  let sim;
  let base;
  useSimulator(() => new C4CSimulator({ users: { [USER]: PASSWORD } }), (s, b) => { sim = s; base = b; });
  afterEach(() => helper.unload());

  function flow(system = {}, customer = {}) {
    return [
      { id: 'f1', type: 'tab' },
      { id: 'sys', type: 'c4c-config', baseUrl: base, servicePath: '/sap/c4c/odata/v1/c4codataapi', maxConcurrency: 1, batchSize: '20', timeout: 5000, retries: 3, backoffBase: 20, ...system },
      { id: 'cust', z: 'f1', type: 'c4c-create-customer', system: 'sys', entitySet: 'IndividualCustomerCollection', firstName: 'Wechat', firstNameType: 'str', lastName: 'wechat.openid', lastNameType: 'msg', roleCode: 'CRM000', fields: 'extra', fieldsType: 'msg', lookup: true, lookupField: 'LastName', ...customer, wires: [['out']] },
      { id: 'ncatch', z: 'f1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'out', z: 'f1', type: 'helper', wires: [] },
      { id: 'caught', z: 'f1', type: 'helper', wires: [] },
    ];
  }
  const creds = { sys: { username: USER, password: PASSWORD } };
  function gather(id) {
    const got = [];
    helper.getNode(id).on('input', (m) => got.push(m));
    return got;
  }

  it('50 follows behind a slow C4C: $batch used, 49 created, the refused one to Catch with C4C\'s message', async () => {
    sim.customers.push({ ObjectID: 'E'.repeat(32), CustomerID: '999', UUID: TAKEN, LastName: 'someone else', LifeCycleStatusCode: '2' });
    sim.faults.latencyMs = 100;
    sim.faults.perOperationMs = 2;
    await helper.load(NODES, flow(), creds);
    const out = gather('out');
    const caught = gather('caught');
    // pairs that differ only in case
    const ids = Array.from({ length: 50 }, (_, i) => (i % 2 ? `oCamp${i >> 1}` : `OCAMP${i >> 1}`));
    ids.forEach((id, i) => helper.getNode('cust').receive({ wechat: { openid: id }, extra: i === 30 ? { UUID: TAKEN } : {} }));
    await waitFor(() => out.length + caught.length >= 50, { what: '50 answers (outputs and Catch)' });
    assert.equal(out.length, 49);
    assert.equal(caught.length, 1);
    assert.equal(caught[0].wechat.openid, ids[30]);
    assert.match(caught[0].error.message, /Instance with UUID 0a1b2c3d-0000-4000-8000-0000000000aa already exists/);
    assert.ok(sim.stats().batches >= 1, 'creates went in $batch');
    // C4C stops a $batch at the refused create: the creates after it in that $batch are looked up
    // once (C4C has finished that $batch) and sent again — still fewer than 20 requests for 50 follows.
    assert.ok(sim.stats().requests < 20, `${sim.stats().requests} requests for 50 follows`);
    for (const m of out) {
      assert.equal(m.c4c.created, true);
      assert.equal(sim.customers.find((c) => c.CustomerID === m.c4c.customerId).LastName, m.wechat.openid);
    }
    assert.equal(new Set(out.map((m) => m.c4c.customerId)).size, 49);
    assert.equal(sim.customers.length, 50);
  });

  it('a $batch C4C stops after changeset 2 of 3: follower 1 output, follower 2 to Catch with C4C\'s message, follower 3 looked up, then created once', async () => {
    sim.customers.push({ ObjectID: 'E'.repeat(32), CustomerID: '999', UUID: TAKEN, LastName: 'someone else', LifeCycleStatusCode: '2' });
    // no lookup, a UUID per create: the three creates wait behind one busy slot and go in one $batch
    await helper.load(NODES, flow({ timeout: 1000 }, { lookup: false, idempotentCreate: true }), creds);
    const out = gather('out');
    const caught = gather('caught');
    helper.getNode('cust').receive({ wechat: { openid: 'oWarm' }, extra: {} }); // reads $metadata first
    await waitFor(() => out.length === 1, { what: 'the first output' });
    sim.faults.latencyMs = 50;
    const busy = helper.getNode('sys').client.get('IndividualCustomerCollection', { $top: '1' }, 'busy');
    ['oStop1', 'oStop2', 'oStop3'].forEach((id, i) => helper.getNode('cust').receive({ wechat: { openid: id }, extra: i === 1 ? { UUID: TAKEN } : {} }));
    await busy;
    await waitFor(() => out.length + caught.length >= 4, { what: '3 more answers (outputs and Catch)' });
    assert.equal(sim.stats().batches, 1, 'one $batch of the three creates');
    assert.deepEqual(out.slice(1).map((m) => m.wechat.openid).sort(), ['oStop1', 'oStop3']);
    assert.equal(caught.length, 1);
    assert.equal(caught[0].wechat.openid, 'oStop2');
    assert.match(caught[0].error.message, /Instance with UUID 0a1b2c3d-0000-4000-8000-0000000000aa already exists/);
    assert.equal(helper.getNode('sys').customers.stats.settleLookups >= 1, true, 'follower 3 was looked up before it was sent again');
    for (const id of ['oStop1', 'oStop3']) assert.equal(sim.customers.filter((c) => c.LastName === id).length, 1, `${id} created once`);
    assert.equal(sim.customers.filter((c) => c.LastName === 'oStop2').length, 0);
  });

  it('batchSize from ${ENV}: set to 1 it turns batching off; unset it falls back to 20', async () => {
    sim.faults.latencyMs = 50;
    process.env.TEST_C4C_BATCH_SIZE = '1';
    try {
      await helper.load(NODES, flow({ batchSize: '${TEST_C4C_BATCH_SIZE}' }), creds);
      const out = gather('out');
      for (let i = 0; i < 12; i++) helper.getNode('cust').receive({ wechat: { openid: `oEnv${i}` }, extra: {} });
      await waitFor(() => out.length >= 12, { what: '12 outputs' });
      assert.equal(sim.stats().batches, 0, 'batchSize 1: no $batch');
      assert.equal(sim.stats().requests, 1 + 24, '$metadata + a lookup and a create each');
    } finally {
      delete process.env.TEST_C4C_BATCH_SIZE;
    }
    await helper.unload();
    sim.reset();
    sim.faults.latencyMs = 50;
    await helper.load(NODES, flow({ batchSize: '${TEST_C4C_BATCH_SIZE}' }), creds);
    const out = gather('out');
    for (let i = 0; i < 12; i++) helper.getNode('cust').receive({ wechat: { openid: `oEnv${i}` }, extra: {} });
    await waitFor(() => out.length >= 12, { what: '12 outputs' });
    assert.ok(sim.stats().batches >= 1, 'unset: the default 20 batches');
  });

  it('a lone follower: $metadata (carrying the CSRF fetch), then exactly 2 requests, no $batch', async () => {
    await helper.load(NODES, flow({ maxConcurrency: 4 }), creds);
    const out = gather('out');
    helper.getNode('cust').receive({ wechat: { openid: 'oLoneNode' }, extra: {} });
    await waitFor(() => out.length === 1, { what: 'the output' });
    assert.equal(out[0].c4c.created, true);
    assert.equal(sim.stats().metadata, 1);
    assert.equal(sim.stats().requests, 3, '$metadata + lookup + create');
    assert.equal(sim.stats().batches, 0);
  });
});
