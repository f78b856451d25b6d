'use strict';
const assert = require('node:assert/strict');
const { C4CSimulator } = require('../../dist/sandbox/c4c');
const { helper, ours, everythingSaid, nodeRedVersion } = require('../helpers/node-red');
const { useSimulator } = require('../helpers/sims');
const { sleep } = require('../helpers/wait');

const USER = 'SANDBOX_USER';
const PASSWORD = 'sandbox-password-42';
const NODES = [ours('c4c-config'), ours('c4c-create-customer')];

describe(`c4c-create-customer against the C4C simulator (Node-RED ${nodeRedVersion})`, function () {
  this.timeout(30000);
  let sim;
  let base;
  useSimulator(() => new C4CSimulator({ users: { [USER]: PASSWORD } }), (s, b) => { sim = s; base = b; });
  afterEach(() => helper.unload());

  function flow(node = {}, system = {}) {
    return [
      { id: 'f1', type: 'tab' },
      { id: 'sys', type: 'c4c-config', baseUrl: base, servicePath: '/sap/c4c/odata/v1/c4codataapi', maxConcurrency: 4, timeout: 5000, retries: 3, backoffBase: 20, ...system },
      { id: 'cust', z: 'f1', type: 'c4c-create-customer', system: 'sys', entitySet: 'IndividualCustomerCollection', firstName: 'Wechat', firstNameType: 'str', lastName: 'wechat.openid', lastNameType: 'msg', roleCode: 'CRM000', fields: '', fieldsType: 'json', lookup: true, lookupField: 'LastName', wires: [['out']], ...node },
      { id: 'ncatch', z: 'f1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'out', z: 'f1', type: 'helper', wires: [] },
      { id: 'caught', z: 'f1', type: 'helper', wires: [] },
    ];
  }
  const creds = (password = PASSWORD) => ({ sys: { username: USER, password } });
  function gather(id, n) {
    const got = [];
    return { got, done: new Promise((resolve) => helper.getNode(id).on('input', (m) => { got.push(m); if (got.length >= n) resolve(got); })) };
  }
  const lastStatus = (id) => helper._NodePrototype.status.getCalls().filter((c) => c.thisValue.id === id).pop().args[0];

  it('a new follower: FirstName Wechat, LastName = OpenID, msg.c4c, status "created"', async () => {
    await helper.load(NODES, flow(), creds());
    const out = gather('out', 1);
    helper.getNode('cust').receive({ wechat: { openid: 'oFollower1' }, payload: {} });
    const [m] = await out.done;
    assert.equal(m.payload.FirstName, 'Wechat');
    assert.equal(m.payload.LastName, 'oFollower1');
    assert.equal(m.payload.RoleCode, 'CRM000');
    assert.deepEqual(m.c4c, { created: true, customerId: '1000000', objectId: sim.customers[0].ObjectID });
    assert.equal(lastStatus('cust').fill, 'green');
    assert.match(lastStatus('cust').text, /created/);
  });

  it('without a shared store the input itself goes on: every property kept, and Complete fires once the customer is there', async () => {
    const f = flow();
    f.push({ id: 'ncomplete', z: 'f1', type: 'complete', scope: ['cust'], uncaught: false, wires: [['completed']] }, { id: 'completed', z: 'f1', type: 'helper', wires: [] });
    await helper.load(NODES, f, creds());
    const out = gather('out', 1);
    const completed = gather('completed', 1);
    helper.getNode('cust').receive({ wechat: { openid: 'oKept' }, payload: {}, ticket: 'T-42' });
    const [[m], [c]] = await Promise.all([out.done, completed.done]);
    assert.equal(m.ticket, 'T-42');
    assert.equal(c.ticket, 'T-42');
    assert.equal(c.c4c.created, true, 'Complete sees the msg after the create, not when it was queued');
    assert.doesNotMatch(String(lastStatus('cust').text), /queued/);
  });

  it('a re-subscribe finds the existing customer and creates nothing', async () => {
    await helper.load(NODES, flow(), creds());
    const out = gather('out', 2);
    helper.getNode('cust').receive({ wechat: { openid: 'oBack' } });
    await sleep(100);
    helper.getNode('cust').receive({ wechat: { openid: 'oBack' } });
    const [a, b] = await out.done;
    assert.equal(a.c4c.created, true);
    assert.equal(b.c4c.created, false);
    assert.equal(b.c4c.customerId, a.c4c.customerId);
    assert.equal(sim.customers.length, 1);
    assert.match(lastStatus('cust').text, /found/);
  });

  it('20 messages for the same OpenID at the same time create exactly one customer', async () => {
    sim.faults.latencyMs = 10;
    await helper.load(NODES, flow(), creds());
    const out = gather('out', 20);
    for (let i = 0; i < 20; i++) helper.getNode('cust').receive({ wechat: { openid: 'oTwenty' } });
    const msgs = await out.done;
    assert.equal(sim.customers.length, 1);
    assert.equal(msgs.filter((m) => m.c4c.created).length, 1);
    assert.equal(new Set(msgs.map((m) => m.c4c.customerId)).size, 1);
  });

  it('100 different followers: 100 customers, one CSRF fetch', async () => {
    await helper.load(NODES, flow(), creds());
    const out = gather('out', 100);
    for (let i = 0; i < 100; i++) helper.getNode('cust').receive({ wechat: { openid: `oHundred${i}` } });
    await out.done;
    assert.equal(sim.customers.length, 100);
    assert.equal(sim.stats().csrfFetches, 1);
  });

  it('extra fields from JSON, and a JSONata LastName', async () => {
    await helper.load(NODES, flow({ fields: '{"CountryCode":"CN","LanguageCode":"ZH"}', fieldsType: 'json', lastName: '"wx_" & wechat.openid', lastNameType: 'jsonata' }), creds());
    const out = gather('out', 1);
    helper.getNode('cust').receive({ wechat: { openid: 'oJ' } });
    const [m] = await out.done;
    assert.equal(m.payload.LastName, 'wx_oJ');
    assert.equal(m.payload.CountryCode, 'CN');
  });

  it('a permanent 400 reaches a Catch node with the OData code and message', async () => {
    sim.injectErrors(400, 1, { kind: 'post', body: { error: { code: 'CX_SADL_ENTITY_SRV/003', message: { lang: 'en', value: 'Role CRM999 is not defined' } } } });
    await helper.load(NODES, flow(), creds());
    const caught = gather('caught', 1);
    helper.getNode('cust').receive({ wechat: { openid: 'o400' } });
    const [m] = await caught.done;
    assert.equal(m.error.code, 'CX_SADL_ENTITY_SRV/003');
    assert.match(m.error.message, /Role CRM999 is not defined/);
    assert.equal(lastStatus('cust').fill, 'red');
  });

  it('401: a clear credentials error at the Catch node; the password nowhere', async () => {
    await helper.load(NODES, flow(), creds('wrong-password-xyz'));
    const caught = gather('caught', 1);
    helper.getNode('cust').receive({ wechat: { openid: 'o401' } });
    const [m] = await caught.done;
    assert.equal(m.error.code, 'C4C_401');
    assert.match(m.error.message, /credentials/);
    const said = everythingSaid();
    assert.ok(!said.includes('wrong-password-xyz'));
    assert.ok(!said.includes(Buffer.from(`${USER}:wrong-password-xyz`).toString('base64')));
  });

  it('a missing OpenID or a LastName over 40 characters fails before any request', async () => {
    await helper.load(NODES, flow(), creds());
    const caught = gather('caught', 2);
    helper.getNode('cust').receive({ payload: 'no wechat' });
    helper.getNode('cust').receive({ wechat: { openid: 'o'.repeat(41) } });
    const msgs = await caught.done;
    assert.deepEqual(msgs.map((m) => m.error.code), ['C4C_INPUT', 'C4C_INPUT'], JSON.stringify(msgs.map((m) => m.error)));
    assert.match(msgs[0].error.message, /cannot read LastName|c4c-create-customer.errors.evaluate/); // the helper's RED._ returns the key
    assert.match(msgs[1].error.message, /longer than 40/);
    assert.equal(sim.stats().requests, sim.stats().metadata, 'no lookup, no create: only the $metadata read');
  });

  it('503s then success: created after retries', async () => {
    sim.injectErrors(503, 2, { retryAfter: 0 });
    await helper.load(NODES, flow(), creds());
    const out = gather('out', 1);
    helper.getNode('cust').receive({ wechat: { openid: 'o503' } });
    const [m] = await out.done;
    assert.equal(m.c4c.created, true);
  });

  it('no password, Authorization header, cookie value or CSRF token in anything said during a busy run', async () => {
    await helper.load(NODES, flow(), creds());
    const out = gather('out', 5);
    for (let i = 0; i < 5; i++) helper.getNode('cust').receive({ wechat: { openid: `oQuiet${i}` } });
    await out.done;
    sim.expireCsrf();
    sim.injectErrors(400, 1, { kind: 'post' });
    const caught = gather('caught', 1);
    helper.getNode('cust').receive({ wechat: { openid: 'oFail' } });
    await caught.done;
    const said = everythingSaid();
    const session = [...sim['sessions'].values()][0];
    for (const secret of [PASSWORD, Buffer.from(`${USER}:${PASSWORD}`).toString('base64'), session.id]) {
      assert.ok(!said.includes(secret), `leaked ${secret.slice(0, 5)}…`);
    }
  });
});
