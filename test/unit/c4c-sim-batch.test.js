'use strict';
// The C4C simulator's $batch, spoken to with raw HTTP (no lib/ code): CSRF applies, reads and
// changesets are answered in order, a refused create fails alone and processing stops after it,
// perOperationMs is on the control API.
const assert = require('node:assert/strict');
const { C4CSimulator, C4C_SERVICE } = require('../../dist/sandbox/c4c');
const { useSimulator } = require('../helpers/sims');

const AUTH = `Basic ${Buffer.from('SANDBOX_USER:sandbox-password').toString('base64')}`;
const CRLF = '\r\n';

function batchBody(b) {
  const cs1 = 'changeset_one';
  const cs2 = 'changeset_two';
  const create = (body) => ['Content-Type: application/http', 'Content-Transfer-Encoding: binary', '', 'POST IndividualCustomerCollection HTTP/1.1', 'Content-Type: application/json', 'Accept: application/json', `Content-Length: ${Buffer.byteLength(body)}`, '', body].join(CRLF);
  return [
    `--${b}`, 'Content-Type: application/http', 'Content-Transfer-Encoding: binary', '',
    "GET IndividualCustomerCollection?$filter=LastName%20eq%20'exists'%20or%20LastName%20eq%20'EXISTS'&$select=ObjectID,LastName&$format=json HTTP/1.1", 'Accept: application/json', '', '',
    `--${b}`, `Content-Type: multipart/mixed; boundary=${cs1}`, '',
    `--${cs1}`, create(JSON.stringify({ RoleCode: 'CRM000', FirstName: 'Wechat', LastName: 'o-new' })), `--${cs1}--`,
    `--${b}`, `Content-Type: multipart/mixed; boundary=${cs2}`, '',
    `--${cs2}`, create(JSON.stringify({ RoleCode: 'CRM000', LastName: 'o-bad', NoSuchField: 'x' })), `--${cs2}--`,
    `--${b}--`, '',
  ].join(CRLF);
}

describe('C4C simulator: $batch over HTTP', function () {
  this.timeout(10000);
  let sim;
  let base;
  useSimulator(() => new C4CSimulator(), (s, b) => { sim = s; base = b; });

  async function session() {
    const res = await fetch(`${base}${C4C_SERVICE}/?$format=json`, { headers: { authorization: AUTH, 'x-csrf-token': 'fetch' } });
    assert.equal(res.status, 200);
    const cookie = res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    return { token: res.headers.get('x-csrf-token'), cookie };
  }

  it('answers a read and two changesets in order: 200, 201, and the refused create alone with C4C\'s message', async () => {
    // a customer that the read finds (case-insensitive compare is for name fields only: LastName folds)
    sim.customers.push({ ObjectID: 'A1', CustomerID: '1', LastName: 'exists', LifeCycleStatusCode: '2' });
    const { token, cookie } = await session();
    const res = await fetch(`${base}${C4C_SERVICE}/$batch`, { method: 'POST', headers: { authorization: AUTH, cookie, 'x-csrf-token': token, 'content-type': 'multipart/mixed; boundary=batch_t1' }, body: batchBody('batch_t1') });
    assert.equal(res.status, 202);
    const type = res.headers.get('content-type');
    const b = /boundary=(\S+)/.exec(type)[1];
    const text = await res.text();
    const statuses = [...text.matchAll(/^HTTP\/1\.1 (\d{3})/gm)].map((m) => Number(m[1]));
    assert.deepEqual(statuses, [200, 201, 400]);
    assert.ok(text.trimEnd().endsWith(`--${b}--`));
    assert.match(text, /Property 'NoSuchField' is invalid/);
    assert.match(text, /"LastName":"exists"/);
    assert.deepEqual(sim.customers.map((c) => c.LastName), ['exists', 'o-new']);
    const stats = await (await fetch(`${base}/__sim/c4c/stats`)).json();
    assert.equal(stats.batches, 1);
    assert.equal(stats.batchOperations, 3);
  });

  it('needs the CSRF token of the session like any modifying request (403 Required)', async () => {
    const { cookie } = await session();
    const res = await fetch(`${base}${C4C_SERVICE}/$batch`, { method: 'POST', headers: { authorization: AUTH, cookie, 'content-type': 'multipart/mixed; boundary=batch_t1' }, body: batchBody('batch_t1') });
    assert.equal(res.status, 403);
    assert.equal(res.headers.get('x-csrf-token'), 'Required');
    assert.equal(sim.customers.length, 0);
  });

  it('refuses a malformed batch as a whole (400) and runs nothing', async () => {
    const { token, cookie } = await session();
    const res = await fetch(`${base}${C4C_SERVICE}/$batch`, { method: 'POST', headers: { authorization: AUTH, cookie, 'x-csrf-token': token, 'content-type': 'multipart/mixed; boundary=batch_t1' }, body: batchBody('batch_t1').replace('--batch_t1--', '') });
    assert.equal(res.status, 400);
    assert.match((await res.json()).error.message.value, /closing delimiter/);
    assert.equal(sim.customers.length, 0);
  });

  it('stops after the first failed changeset: the parts up to it are answered, the changesets after it are not run', async () => {
    const { token, cookie } = await session();
    // read, create, refused create, then a create that must not run
    const b = 'batch_t2';
    const extra = ['--changeset_three', 'Content-Type: application/http', 'Content-Transfer-Encoding: binary', '', 'POST IndividualCustomerCollection HTTP/1.1', 'Content-Type: application/json', '', JSON.stringify({ RoleCode: 'CRM000', LastName: 'o-after' }), '--changeset_three--'];
    const body = batchBody(b).replace(`--${b}--`, [`--${b}`, 'Content-Type: multipart/mixed; boundary=changeset_three', '', ...extra, `--${b}--`].join(CRLF));
    const res = await fetch(`${base}${C4C_SERVICE}/$batch`, { method: 'POST', headers: { authorization: AUTH, cookie, 'x-csrf-token': token, 'content-type': `multipart/mixed; boundary=${b}` }, body });
    assert.equal(res.status, 202);
    const text = await res.text();
    assert.deepEqual([...text.matchAll(/^HTTP\/1\.1 (\d{3})/gm)].map((m) => Number(m[1])), [200, 201, 400]);
    assert.doesNotMatch(text, /o-after/);
    assert.deepEqual(sim.customers.map((c) => c.LastName), ['o-new']);
    assert.equal(sim.stats().batchOperations, 3, 'the fourth part was not run');
  });

  it('takes perOperationMs on the control API (null: what the operation costs alone, latencyMs) and forgets it on reset', async () => {
    const set = await (await fetch(`${base}/__sim/c4c/faults`, { method: 'POST', body: JSON.stringify({ perOperationMs: 5, latencyMs: 1 }) })).json();
    assert.equal(set.perOperationMs, 5);
    assert.equal(sim.faults.perOperationMs, 5);
    const back = await (await fetch(`${base}/__sim/c4c/faults`, { method: 'POST', body: JSON.stringify({ perOperationMs: null }) })).json();
    assert.equal(back.perOperationMs, null);
    await fetch(`${base}/__sim/c4c/faults`, { method: 'POST', body: JSON.stringify({ perOperationMs: 5 }) });
    await fetch(`${base}/__sim/c4c/reset`, { method: 'POST' });
    assert.equal(sim.faults.perOperationMs, null, 'reset: the default, an operation costs in a batch what it costs alone');
  });

  it('plain requests still work through the shared operation code (query, create, 404)', async () => {
    const { token, cookie } = await session();
    const created = await fetch(`${base}${C4C_SERVICE}/IndividualCustomerCollection`, { method: 'POST', headers: { authorization: AUTH, cookie, 'x-csrf-token': token, 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify({ RoleCode: 'CRM000', LastName: 'single' }) });
    assert.equal(created.status, 201);
    assert.match(created.headers.get('location'), /IndividualCustomerCollection\('[0-9A-F]{32}'\)$/);
    const q = await fetch(`${base}${C4C_SERVICE}/IndividualCustomerCollection?$filter=LastName%20eq%20'single'&$format=json`, { headers: { authorization: AUTH, cookie } });
    assert.equal((await q.json()).d.results.length, 1);
    const missing = await fetch(`${base}${C4C_SERVICE}/NoSuchCollection?$format=json`, { headers: { authorization: AUTH, cookie } });
    assert.equal(missing.status, 404);
  });
});
