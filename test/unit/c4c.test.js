'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const http = require('node:http');
const lib = require('../../dist/lib');
const { C4CSimulator, C4C_SERVICE } = require('../../dist/sandbox/c4c');
const { useSimulator } = require('../helpers/sims');
const { sleep } = require('../helpers/wait');

const USER = 'SANDBOX_USER';
const PASSWORD = 'sandbox-password-42';

describe('C4C metadata', () => {
  it('the shipped metadata and the simulator\'s are the real fixture, byte for byte (the build copies the one source)', () => {
    const shipped = fs.readFileSync(path.join(__dirname, '../../dist/lib/c4c/IndividualCustomer.metadata.xml'), 'utf8');
    assert.equal(shipped, fs.readFileSync(path.join(__dirname, '../fixtures/c4c/IndividualCustomer.metadata.xml'), 'utf8'));
    assert.equal(fs.readFileSync(path.join(__dirname, '../../dist/sandbox/c4c-metadata.xml'), 'utf8'), shipped);
    assert.equal(lib.builtInMetadataXml(), shipped);
    const shared = path.join(__dirname, '../../../shared/fixtures/c4c/IndividualCustomer.metadata.xml');
    if (fs.existsSync(shared)) assert.equal(shipped, fs.readFileSync(shared, 'utf8'));
  });
  it('reads IndividualCustomer: key, MaxLength, creatable, required', () => {
    const md = lib.builtInMetadata();
    const t = md.entityTypes.get('IndividualCustomer');
    assert.deepEqual(t.keys, ['ObjectID']);
    assert.equal(md.entitySets.get('IndividualCustomerCollection'), 'IndividualCustomer');
    assert.equal(t.properties.get('LastName').maxLength, 40);
    assert.equal(t.properties.get('RoleCode').maxLength, 6);
    assert.equal(t.properties.get('CustomerID').maxLength, 10);
    assert.equal(t.properties.get('ExternalID').creatable, false);
    assert.equal(t.properties.get('RoleCodeText').creatable, false);
    assert.equal(t.properties.has('IndividualCustomerAddress'), false, 'navigation properties are not properties');
  });
  it('validateCreate: required, not creatable, unknown, too long (characters, not bytes)', () => {
    const t = lib.builtInMetadata().entityTypes.get('IndividualCustomer');
    assert.deepEqual(lib.validateCreate(t, { RoleCode: 'CRM000', LastName: '微'.repeat(40) }), []);
    assert.deepEqual(lib.validateCreate(t, { RoleCode: 'CRM000', LastName: '😀'.repeat(20) }), [], '40 UTF-16 units');
    assert.deepEqual(lib.validateCreate(t, { RoleCode: 'CRM000', LastName: 'a' + '😀'.repeat(20) }).map((p) => p.problem), ['too-long'], '41 UTF-16 units, 21 code points');
    const problems = lib.validateCreate(t, { FirstName: 'x'.repeat(41), ExternalID: '1', Foo: 1 });
    assert.deepEqual(problems.map((p) => `${p.field}:${p.problem}`).sort(), ['ExternalID:not-creatable', 'FirstName:too-long', 'Foo:unknown', 'LastName:required', 'RoleCode:required']);
  });
});

describe('OData helpers', () => {
  it('odataString doubles quotes', () => {
    assert.equal(lib.odataString("O'Brien"), "'O''Brien'");
    assert.equal(lib.odataString("x' or LastName ne '"), "'x'' or LastName ne '''");
  });
  it('unwraps C4C single entities and collections', () => {
    assert.deepEqual(lib.unwrapOData({ d: { results: { a: 1 } } }), { a: 1 });
    assert.deepEqual(lib.unwrapOData({ d: { results: [1, 2] } }), [1, 2]);
    assert.deepEqual(lib.unwrapOData({ d: { a: 1 } }), { a: 1 });
    const sample = require('../fixtures/c4c/create-201-response.sample.json');
    assert.equal(lib.unwrapOData(sample.body).ObjectID, '00163E1379D01ED785B015D2038B098A');
  });
  it('odataError reads error.message.value and error.code', () => {
    const e = lib.odataError(400, JSON.stringify({ error: { code: 'SY/530', message: { lang: 'en', value: 'Property X is invalid' } } }), 'create');
    assert.equal(e.code, 'SY/530');
    assert.equal(e.statusCode, 400);
    assert.match(e.message, /Property X is invalid/);
    assert.equal(lib.odataError(503, 'oops', 'q').code, 'C4C_503');
    assert.equal(lib.odataError(503, 'oops', 'q').transient, true);
    assert.match(lib.odataError(401, '<html/>', 'q').message, /credentials/);
  });
});

describe('C4CClient and CustomerService against the C4C simulator', function () {
  this.timeout(60000);
  let sim;
  let base;
  useSimulator(() => new C4CSimulator({ users: { [USER]: PASSWORD } }), (s, b) => { sim = s; base = b; });
  const client = (extra = {}) => new lib.C4CClient({ baseUrl: base, username: USER, password: PASSWORD, ...extra, retry: { baseMs: 20, maxMs: 200, ...extra.retry } });
  const request = (openid, extra = {}) => ({ entitySet: 'IndividualCustomerCollection', body: { RoleCode: 'CRM000', FirstName: 'Wechat', LastName: openid, ...extra }, lookup: true, lookupField: 'LastName' });

  it('creates, then finds: lookup + create for a new follower, one GET for a returning one', async () => {
    const c = client();
    const svc = new lib.CustomerService(c);
    const first = await svc.createOrFind(request('oNew1'));
    assert.equal(first.created, true);
    assert.equal(first.customerId, '1000000');
    assert.match(first.objectId, /^[0-9A-F]{32}$/);
    assert.equal(first.entity.FirstName, 'Wechat');
    assert.equal(sim.stats().metadata, 1, 'the live $metadata, read once');
    assert.equal(sim.stats().gets, 2, '$metadata + lookup');
    assert.equal(sim.stats().posts, 1);
    assert.equal(sim.stats().csrfFetches, 1, 'the token came with the first GET');
    const again = await svc.createOrFind(request('oNew1'));
    assert.equal(again.created, false);
    assert.equal(again.customerId, '1000000');
    assert.equal(sim.stats().requests, 4, 'a returning follower: one lookup, no second $metadata');
    assert.equal(sim.customers.length, 1);
  });

  it('100 different followers at once: 100 customers, CSRF fetched once, never more than maxConcurrency in flight', async () => {
    sim.faults.latencyMs = 5;
    const c = client({ maxConcurrency: 4 });
    const svc = new lib.CustomerService(c);
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => svc.createOrFind(request(`oMany${i}`))));
    assert.equal(results.filter((r) => r.created).length, 100);
    assert.equal(new Set(results.map((r) => r.customerId)).size, 100);
    assert.equal(sim.stats().csrfFetches, 1);
    assert.equal(sim.stats().sessions, 1, 'one session, shared');
    assert.ok(sim.stats().maxInFlight <= 4, `max in flight ${sim.stats().maxInFlight}`);
  });

  it('CSRF expiry mid-run: a transparent refetch, nothing lost', async () => {
    const c = client();
    const svc = new lib.CustomerService(c);
    await svc.createOrFind(request('oBefore'));
    sim.expireCsrf();
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => svc.createOrFind(request(`oAfter${i}`))));
    assert.equal(results.every((r) => r.created), true);
    assert.equal(sim.customers.length, 11);
    assert.equal(sim.stats().csrfFetches, 2, 'one refetch shared by all');
    assert.ok(c.stats.csrfRetries >= 1);
  });

  it('the simulator is strict: a token without its session cookie is refused with 403 Required', async () => {
    const auth = 'Basic ' + Buffer.from(`${USER}:${PASSWORD}`).toString('base64');
    const fetchRes = await fetch(`${base}${C4C_SERVICE}/`, { headers: { authorization: auth, 'x-csrf-token': 'fetch' } });
    const token = fetchRes.headers.get('x-csrf-token');
    const cookie = fetchRes.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    assert.ok(token && cookie.includes('SAP_SESSIONID_'));
    const body = JSON.stringify({ RoleCode: 'CRM000', LastName: 'oStrict' });
    const noCookie = await fetch(`${base}${C4C_SERVICE}/IndividualCustomerCollection`, { method: 'POST', headers: { authorization: auth, 'x-csrf-token': token, 'content-type': 'application/json' }, body });
    assert.equal(noCookie.status, 403);
    assert.equal(noCookie.headers.get('x-csrf-token'), 'Required');
    const noToken = await fetch(`${base}${C4C_SERVICE}/IndividualCustomerCollection`, { method: 'POST', headers: { authorization: auth, cookie, 'content-type': 'application/json' }, body });
    assert.equal(noToken.status, 403);
    const ok = await fetch(`${base}${C4C_SERVICE}/IndividualCustomerCollection`, { method: 'POST', headers: { authorization: auth, cookie, 'x-csrf-token': token, 'content-type': 'application/json', accept: 'application/json' }, body });
    assert.equal(ok.status, 201);
    assert.match(ok.headers.get('location'), /IndividualCustomerCollection\('[0-9A-F]{32}'\)$/);
    assert.ok(ok.headers.get('etag'));
    const json = await ok.json();
    assert.equal(json.d.results.CustomerID, '1000000', 'C4C wraps a single entity in d.results');
  });

  it('503 for the first 3 requests: created after retries, honouring Retry-After', async () => {
    sim.injectErrors(503, 3, { retryAfter: 0 });
    const c = client();
    const r = await new lib.CustomerService(c).createOrFind(request('o503'));
    assert.equal(r.created, true);
    assert.equal(c.stats.retries, 3);
  });

  it('429 with Retry-After: 1 waits at least the second C4C asked for', async () => {
    sim.injectErrors(429, 1, { retryAfter: 1 });
    const c = client();
    const t0 = Date.now();
    await new lib.CustomerService(c).createOrFind(request('o429'));
    assert.ok(Date.now() - t0 >= 1000, 'Retry-After honoured');
  });

  it('a 10 s outage: recovered by the retries', async () => {
    sim.faults.outageUntil = Date.now() + 10000;
    const c = client({ retry: { retries: 8, baseMs: 500, maxMs: 4000 } });
    const r = await new lib.CustomerService(c).createOrFind(request('oOutage'));
    assert.equal(r.created, true);
    assert.equal(sim.customers.length, 1);
  });

  it('a create lost on the way back (502) is looked up before it is retried: no duplicate', async () => {
    const c = client();
    const svc = new lib.CustomerService(c);
    await svc.createOrFind(request('oWarm'));
    // The next POST is processed, but the answer is a 502 (a proxy lost it).
    const original = sim.handle.bind(sim);
    let fired = false;
    sim.handle = (req, res) => {
      if (!fired && req.method === 'POST') {
        fired = true;
        const end = res.end.bind(res);
        res.writeHead = function () { return res; };
        res.setHeader = function () { return res; };
        res.end = () => { res.statusCode = 502; end(); };
      }
      return original(req, res);
    };
    const server = http.createServer((req, res) => { if (!sim.handle(req, res)) res.end(); });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    const c2 = new lib.C4CClient({ baseUrl: `http://127.0.0.1:${server.address().port}`, username: USER, password: PASSWORD, retry: { baseMs: 10 } });
    const r = await new lib.CustomerService(c2, { settleMs: 400 }).createOrFind(request('oLost'));
    sim.handle = original;
    server.close();
    assert.equal(r.created, true, 'the create that C4C committed is the result, found by the settle lookup');
    assert.equal(sim.customers.filter((x) => x.LastName === 'oLost').length, 1);
  });

  it('close() during a retry pause ends the request at once as C4C_CLOSED', async () => {
    sim.injectErrors(503, 10, { retryAfter: 60 });
    const c = client({ retry: { retries: 5 } });
    const pending = new lib.CustomerService(c).createOrFind(request('oClosed'));
    await sleep(100);
    c.close();
    await assert.rejects(pending, (e) => e.code === 'C4C_CLOSED');
  });

  it('a permanent 400: the OData message and code, no retry', async () => {
    const c = client();
    const svc = new lib.CustomerService(c, { metadata: { namespace: '', entityTypes: new Map(), entitySets: new Map() } }); // skip local validation
    await assert.rejects(svc.createOrFind(request('o400', { ExternalID: 'X' })), (e) => e.code === 'SY/530' && e.statusCode === 400 && /not creatable/.test(e.message));
    assert.equal(c.stats.retries, 0);
  });

  it('401: a clear credentials error, password and Authorization nowhere in it', async () => {
    const c = client({ password: 'wrong-password-123' });
    await assert.rejects(new lib.CustomerService(c).createOrFind(request('o401')), (e) => {
      assert.equal(e.code, 'C4C_401');
      assert.match(e.message, /credentials/);
      assert.ok(!e.message.includes('wrong-password-123'));
      assert.ok(!/Basic [A-Za-z0-9+/=]{8}/.test(e.message));
      return true;
    });
  });

  it("a ' in the OpenID is escaped: it cannot change the $filter", async () => {
    const c = client();
    const svc = new lib.CustomerService(c);
    await svc.createOrFind(request('oVictim'));
    const evil = "x' or LastName ne '";
    const r = await svc.createOrFind(request(evil));
    assert.equal(r.created, true, 'the crafted value matched nobody');
    assert.equal(r.entity.LastName, evil);
    assert.equal((await svc.createOrFind(request(evil))).created, false, 'and is found exactly');
    assert.equal(sim.customers.length, 2);
  });

  it('input errors before any request: missing OpenID, too long, not creatable', async () => {
    const svc = new lib.CustomerService(client());
    await assert.rejects(svc.createOrFind(request('')), (e) => e.code === 'C4C_INPUT' && /no value/.test(e.message));
    await assert.rejects(svc.createOrFind(request('o'.repeat(41))), (e) => e.code === 'C4C_INPUT' && /longer than 40/.test(e.message));
    await assert.rejects(svc.createOrFind(request('oX', { ObjectID: 'x' })), (e) => e.code === 'C4C_INPUT' && /cannot be set/.test(e.message));
    // 20 emoji are 40 characters as JavaScript counts code points... and 40 UTF-16 units: fits; 21 do not.
    await assert.rejects(svc.createOrFind(request('😀'.repeat(21))), (e) => e.code === 'C4C_INPUT' && /longer than 40/.test(e.message));
    assert.equal([...'😀'.repeat(21)].length, 21, 'only 21 code points: a code-point count would have let it through');
    assert.equal(sim.stats().requests, sim.stats().metadata, 'nothing but the $metadata read: no lookup, no create');
    assert.equal(sim.stats().metadata, 1);
  });
});
