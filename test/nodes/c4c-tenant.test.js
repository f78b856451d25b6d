'use strict';
const assert = require('node:assert/strict');
const { C4CSimulator } = require('../../dist/sandbox/c4c');
const { helper, ours } = require('../helpers/node-red');
const { useSimulator } = require('../helpers/sims');
const { sleep } = require('../helpers/wait');

const USER = 'SANDBOX_USER';
const PASSWORD = 'sandbox-password-42';
const NODES = [ours('c4c-config'), ours('c4c-create-customer')];

describe('c4c-create-customer on a real tenant: redirects, logon pages, identification key', function () {
  this.timeout(30000);
  let sim;
  let base;
  useSimulator(() => new C4CSimulator({ users: { [USER]: PASSWORD } }), (s, b) => { sim = s; base = b; });
  afterEach(() => helper.unload());

  const flow = (node = {}) => [
    { id: 'f1', type: 'tab' },
    { id: 'sys', type: 'c4c-config', baseUrl: base, servicePath: '/sap/c4c/odata/v1/c4codataapi', maxConcurrency: 4, timeout: 5000, retries: 0, backoffBase: 20, language: 'zh' },
    { id: 'cust', z: 'f1', type: 'c4c-create-customer', system: 'sys', lookup: true, lookupField: 'LastName', wires: [['out']], ...node },
    { id: 'ncatch', z: 'f1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'out', z: 'f1', type: 'helper', wires: [] },
    { id: 'caught', z: 'f1', type: 'helper', wires: [] },
  ];
  const creds = { sys: { username: USER, password: PASSWORD } };
  const statuses = (id) => helper._NodePrototype.status.getCalls().filter((c) => c.thisValue.id === id).map((c) => c.args[0]);

  for (const [mode, code] of [['redirect', 'C4C_REDIRECT'], ['login', 'C4C_NOT_ODATA']]) {
    it(`${mode}: ${code} at the Catch node, nothing sent on with an empty ID`, async () => {
      await helper.load(NODES, flow(), creds);
      sim.injectErrors(0, 10, { mode });
      const sent = [];
      helper.getNode('out').on('input', (m) => sent.push(m));
      const caught = new Promise((resolve) => helper.getNode('caught').on('input', resolve));
      helper.getNode('cust').receive({ wechat: { openid: `o-${mode}` } });
      const m = await caught;
      assert.equal(m.error.code, code);
      // the hint (the table's text names Tenant URL and Service path) is appended in the runtime's language; the helper translates nothing
      assert.match(m.error.message, /^C4CError: C4C lookup failed: HTTP (307 redirect|200 with an HTML page)/);
      await sleep(100);
      assert.equal(sent.length, 0);
      assert.equal(sim.customers.length, 0);
      const last = statuses('cust').pop();
      assert.equal(last.fill, 'red');
      assert.ok(last.text.length <= 32 || /^c4c-create-customer\./.test(last.text), last.text);
    });
  }

  it('identification: the node creates with the OpenID as IDNumber and finds it after a rename; status starts "ready"', async () => {
    await helper.load(NODES, flow({ lookupField: 'identification', identificationType: 'WX01' }), creds);
    assert.match(statuses('cust')[0].text, /ready/);
    const got = [];
    const two = new Promise((resolve) => helper.getNode('out').on('input', (m) => { got.push(m); if (got.length === 2) resolve(); }));
    helper.getNode('cust').receive({ wechat: { openid: 'oNodeIdent' } });
    await sleep(300);
    sim.update(sim.customers[0].ObjectID, { LastName: 'Renamed' });
    helper.getNode('cust').receive({ wechat: { openid: 'oNodeIdent' } });
    await two;
    assert.deepEqual(got.map((m) => m.c4c.created), [true, false]);
    assert.equal(got[0].c4c.customerId, got[1].c4c.customerId);
    assert.equal(sim.identifications[0].IDNumber, 'oNodeIdent');
    assert.ok(sim.stats().languages.zh > 0, 'language zh sent');
  });

  it('a GUID extension-field key: the follower C4C answered in upper case is found, no second customer', async () => {
    const guid = '0a1b2c3d-0000-4000-8000-00000000abcd';
    await helper.load(NODES, flow({ lookupField: 'FollowerUUID_KUT', fields: `{"FollowerUUID_KUT":"${guid}"}`, fieldsType: 'json' }), creds);
    const got = [];
    const two = new Promise((resolve) => helper.getNode('out').on('input', (m) => { got.push(m); if (got.length === 2) resolve(); }));
    helper.getNode('cust').receive({ wechat: { openid: 'oNodeGuid' } });
    await sleep(300);
    helper.getNode('cust').receive({ wechat: { openid: 'oNodeGuid' } });
    await two;
    assert.deepEqual(got.map((m) => m.c4c.created), [true, false]);
    assert.equal(got[1].payload.FollowerUUID_KUT, guid.toUpperCase());
    assert.equal(sim.customers.length, 1);
  });

  it('a tenant that refuses $metadata?$filter=: the full $metadata once per deploy, every follower created', async () => {
    sim.opts.metadataFilter = 'refuse';
    const FILTERED = '?$filter=IndividualCustomer%2CIndividualCustomerIdentification';
    for (const deploy of [1, 2]) {
      await helper.load(NODES, flow({ lookupField: 'identification', identificationType: 'WX01' }), creds);
      const got = [];
      const three = new Promise((resolve) => helper.getNode('out').on('input', (m) => { got.push(m); if (got.length === 3) resolve(); }));
      for (const o of ['oA', 'oB', 'oC']) helper.getNode('cust').receive({ wechat: { openid: `${o}${deploy}` } });
      await three;
      assert.deepEqual(got.map((m) => m.c4c.created), [true, true, true]);
      assert.deepEqual(sim.metadataQueries, Array(deploy).fill([FILTERED, '']).flat(), `deploy ${deploy}`);
      await helper.unload();
    }
    assert.equal(sim.customers.length, 6);
  });
});
