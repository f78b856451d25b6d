'use strict';
// The C4C simulator's change events (sandbox/c4c-events.ts): what it posts, with what auth, how it
// repeats and reorders. The sandbox shares no code with lib/: these are the simulator's own rules.
const assert = require('node:assert/strict');
const http = require('node:http');
const { C4CSimulator } = require('../../dist/sandbox/c4c');
const { waitFor } = require('../helpers/wait');

describe('C4C simulator: change events', () => {
  let consumer;
  let got;
  let sim;
  before(async () => {
    consumer = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => { got.push({ auth: req.headers.authorization, body: JSON.parse(body) }); res.statusCode = 202; res.end(); });
    });
    await new Promise((r) => consumer.listen(0, '127.0.0.1', r));
  });
  after(() => consumer.close());
  beforeEach(() => {
    got = [];
    sim = new C4CSimulator();
    sim.tenantUrl = 'https://my000000.crm.ondemand.com';
    sim.events.configure({ endpoint: `http://127.0.0.1:${consumer.address().port}/c4c/events`, username: 'EV', password: 'pw' });
    sim.customers.push({ ObjectID: 'OBJ1', CustomerID: '1000001', FirstName: 'Wechat', LastName: 'oX', Email: '' });
  });

  it('an edit posts the Updated event with Basic auth and the changed fields (Event Notification)', async () => {
    sim.update('OBJ1', { Email: 'a@example.com', FirstName: 'Wechat' });
    await waitFor(() => got.length === 1);
    assert.equal(got[0].auth, `Basic ${Buffer.from('EV:pw').toString('base64')}`);
    const b = got[0].body;
    assert.equal(b['event-type'], 'IndividualCustomer.Root.Updated.v1');
    assert.equal(b.data['root-entity-id'], 'OBJ1');
    assert.deepEqual(b.data.Changes[0].ChangedFields, [{ Fieldname: 'Email', New: 'a@example.com', Old: '' }], 'only what changed');
    sim.update('OBJ1', { Email: 'a@example.com' });
    await sim.events.settled();
    assert.equal(got.length, 1, 'no change, no event');
  });

  it('the CloudEvents envelope and the OData feed notification (the endpoint on the tenant URL)', async () => {
    sim.events.configure({ shape: 'cloudevents' });
    sim.update('OBJ1', { Phone: '1' });
    sim.events.configure({ shape: 'feed' });
    sim.update('OBJ1', { Phone: '2' });
    await waitFor(() => got.length === 2);
    const [cloud, feed] = got.map((g) => g.body).sort((a) => (a.specversion ? -1 : 1));
    assert.equal(cloud.specversion, '1.0');
    assert.equal(cloud.type, 'IndividualCustomer.Root.Updated.v1');
    assert.deepEqual(feed, { businessObject: 'CUSTOMER', businessObjectId: 'OBJ1', event: 'U', odataServiceEndpoint: "https://my000000.crm.ondemand.com/sap/c4c/odata/v1/c4codataapi/IndividualCustomerCollection('OBJ1')" });
  });

  it('repeat: every event N times, the same body; reorder: a batch posted last first', async () => {
    sim.events.configure({ repeat: 2 });
    sim.update('OBJ1', { Phone: '1' });
    await waitFor(() => got.length === 2);
    assert.deepEqual(got[0].body, got[1].body);
    got = [];
    sim.events.configure({ repeat: 1, reorder: 2 });
    sim.update('OBJ1', { Phone: '2' });
    sim.update('OBJ1', { Phone: '3' });
    await waitFor(() => got.length === 2);
    assert.deepEqual(got.map((g) => g.body.data.Changes[0].ChangedFields[0].New), ['3', '2']);
  });
});
