'use strict';
// A real C4C tenant's behaviour, against the simulator (which reads its own metadata and fails
// the way a tenant does): slow commits, dropped connections, redirects, logon pages, extension
// fields, identifications, wildcard/case rules, technical users, empty error codes, certificates.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const https = require('node:https');
const { execFileSync } = require('node:child_process');
const lib = require('../../dist/lib');
const { C4CSimulator, simMatches } = require('../../dist/sandbox/c4c');
const { parseArgs } = require('../../dist/sandbox/cli');
const { useSimulator } = require('../helpers/sims');
const { sleep } = require('../helpers/wait');
const { needPrograms, programPath } = require('../helpers/programs');

const USER = 'SANDBOX_USER';
const PASSWORD = 'sandbox-password-42';
const SET = 'IndividualCustomerCollection';

describe('C4C on a real tenant (simulator)', function () {
  this.timeout(60000);
  let sim;
  let base;
  useSimulator(() => new C4CSimulator({ users: { [USER]: PASSWORD }, extensionFields: ['WeChatOpenID_KUT'] }), (s, b) => { sim = s; base = b; });
  const client = (extra = {}) => new lib.C4CClient({ baseUrl: base, username: USER, password: PASSWORD, ...extra, retry: { baseMs: 20, maxMs: 200, ...extra.retry } });
  const service = (c, extra = {}) => new lib.CustomerService(c, { timeoutMs: c.timeoutForTest ?? 30000, ...extra });
  const input = (openid, extra = {}) => ({ entitySet: SET, roleCode: 'CRM000', firstName: 'Wechat', lastName: openid, openid, lookup: true, lookupField: 'LastName', ...extra });

  describe('no duplicate on an ambiguous create', () => {
    it('a POST committed after the timeout and answered 3× slower than it: one customer, created: true', async () => {
      const timeoutMs = 300;
      const c = client({ timeoutMs, retry: { retries: 3 } });
      const svc = new lib.CustomerService(c, { timeoutMs });
      await svc.metadataFor(SET);
      sim.slowCommit({ commitAfterMs: 1.5 * timeoutMs, answerAfterMs: 3 * timeoutMs });
      const r = await svc.createOrFind(svc.buildRequest(input('oSlow')));
      assert.equal(r.created, true);
      assert.equal(r.customerId, sim.customers[0].CustomerID);
      assert.equal(sim.customers.length, 1, 'exactly one customer');
      assert.equal(sim.stats().posts, 1, 'the create was not sent again');
      assert.ok(svc.stats.settleLookups >= 1 && svc.stats.settleFound === 1);
      await sleep(3 * timeoutMs);
      assert.equal(sim.customers.length, 1, 'still one after the late answer');
    });

    it('the connection dropped after the commit: one customer, created: true', async () => {
      const c = client({ timeoutMs: 500 });
      const svc = new lib.CustomerService(c, { timeoutMs: 500 });
      sim.slowCommit({ drop: true });
      const r = await svc.createOrFind(svc.buildRequest(input('oDrop')));
      assert.equal(r.created, true);
      assert.equal(r.objectId, sim.customers[0].ObjectID);
      assert.equal(sim.customers.length, 1);
      assert.equal(sim.stats().posts, 1);
    });

    it('nothing appears within the settle period: sent once more, then one customer', async () => {
      const c = client({ timeoutMs: 200 });
      const svc = new lib.CustomerService(c, { timeoutMs: 200 });
      // C4C drops the connection WITHOUT committing (a 502 from the load balancer before the backend).
      sim.injectErrors(502, 1, { kind: 'post' });
      const r = await svc.createOrFind(svc.buildRequest(input('oLost502')));
      assert.equal(r.created, true);
      assert.equal(sim.customers.length, 1);
      assert.equal(sim.stats().posts, 2, 'one POST answered 502 (not committed), one that created');
      assert.ok(svc.stats.settleLookups >= 4, 'several lookups over the settle period first');
    });

    it('idempotentCreate: without a lookup field, the dropped create is found by its UUID', async () => {
      const c = client({ timeoutMs: 500 });
      const svc = new lib.CustomerService(c, { timeoutMs: 500 });
      sim.slowCommit({ drop: true });
      const r = await svc.createOrFind(svc.buildRequest(input('oUuid', { lookup: false, idempotentCreate: true })));
      assert.equal(r.created, true);
      assert.equal(sim.customers.length, 1);
      assert.match(String(sim.customers[0].UUID), /^[0-9a-f-]{36}$/);
      assert.equal(sim.stats().posts, 1);
    });

    it('two messages for the same follower while the create hangs: the second waits for the lock and finds it', async () => {
      const c = client({ timeoutMs: 300 });
      const svc = new lib.CustomerService(c, { timeoutMs: 300 });
      sim.slowCommit({ commitAfterMs: 400, answerAfterMs: 900 });
      const [a, b] = await Promise.all([svc.createOrFind(svc.buildRequest(input('oTwice'))), svc.createOrFind(svc.buildRequest(input('oTwice')))]);
      assert.deepEqual([a.created, b.created], [true, false]);
      assert.equal(sim.customers.length, 1);
    });
  });

  describe('only a real answer is success', () => {
    it('307 (a missing slash): C4C_REDIRECT with the location and a hint, no customer', async () => {
      const svc = service(client());
      sim.injectErrors(0, 5, { mode: 'redirect' });
      await assert.rejects(svc.createOrFind(svc.buildRequest(input('o307'))), (e) => {
        assert.equal(e.code, 'C4C_REDIRECT');
        assert.equal(e.statusCode, 307);
        assert.match(e.location, /c4codataapi\/\$metadata\/|c4codataapi\/IndividualCustomerCollection\//);
        assert.equal(e.hintKey, 'C4C_REDIRECT'); // the hint table's text names baseUrl and servicePath
        return true;
      });
      assert.equal(sim.customers.length, 0);
    });

    it('307 on the create itself: C4C_REDIRECT, not created: true with an empty ID', async () => {
      const svc = service(client());
      await svc.metadataFor(SET);
      sim.injectErrors(0, 1, { mode: 'redirect', kind: 'post' });
      await assert.rejects(svc.createOrFind(svc.buildRequest(input('o307post'))), (e) => e.code === 'C4C_REDIRECT');
    });

    it('an HTML logon page with 200: C4C_NOT_ODATA naming the page', async () => {
      const svc = service(client());
      await svc.metadataFor(SET);
      sim.injectErrors(0, 1, { mode: 'login', kind: 'get' });
      await assert.rejects(svc.createOrFind(svc.buildRequest(input('oLogin'))), (e) => {
        assert.equal(e.code, 'C4C_NOT_ODATA');
        assert.match(e.message, /HTML page \("Logon"\)/);
        return true;
      });
      sim.injectErrors(0, 1, { mode: 'login', kind: 'post' });
      await assert.rejects(svc.createOrFind(svc.buildRequest(input('oLogin'))), (e) => e.code === 'C4C_NOT_ODATA');
    });

    it('$metadata answered with a logon page: a warning, the shipped excerpt, and the follower still created', async () => {
      const warnings = [];
      const svc = service(client(), { onWarn: (w) => warnings.push(w) });
      sim.injectErrors(0, 1, { mode: 'login', kind: 'get' });
      const r = await svc.createOrFind(svc.buildRequest(input('oFallback')));
      assert.equal(r.created, true);
      assert.equal(warnings.length, 1);
      assert.match(warnings[0], /\$metadata could not be read.*shipped IndividualCustomer excerpt/);
    });
  });

  describe('live metadata and stable keys', () => {
    it('create and lookup by an extension field from the live $metadata (the shipped excerpt refuses it)', async () => {
      const builtIn = lib.builtInMetadata().entityTypes.get('IndividualCustomer');
      assert.equal(lib.validateCreate(builtIn, { RoleCode: 'CRM000', LastName: 'x', WeChatOpenID_KUT: 'o' })[0].problem, 'unknown');
      const svc = service(client());
      const md = await svc.metadataFor(SET);
      assert.equal(md.entityTypes.get('IndividualCustomer').properties.get('WeChatOpenID_KUT').extension, true);
      const req = () => svc.buildRequest(input('oExt', { lastName: 'Zhang', lookupField: 'WeChatOpenID_KUT', fields: { WeChatOpenID_KUT: 'oExt' } }));
      const first = await svc.createOrFind(req());
      assert.equal(first.created, true);
      assert.equal(sim.customers[0].WeChatOpenID_KUT, 'oExt');
      sim.update(first.objectId, { LastName: 'Renamed by a sales rep' });
      const again = await svc.createOrFind(req());
      assert.equal(again.created, false);
      assert.equal(again.customerId, first.customerId);
      assert.equal(sim.stats().metadata, 1, 'one $metadata read');
    });

    it('identification: deep insert of the OpenID, then found; a rename in C4C changes nothing', async () => {
      const svc = service(client());
      const req = () => svc.buildRequest(input('oIdent', { lookupField: 'identification', identificationType: 'WX01' }));
      const first = await svc.createOrFind(req());
      assert.equal(first.created, true);
      assert.equal(sim.identifications.length, 1);
      assert.equal(sim.identifications[0].IDNumber, 'oIdent');
      assert.equal(sim.identifications[0].IDTypeCode, 'WX01');
      assert.equal(sim.identifications[0].ParentObjectID, first.objectId);
      sim.update(first.objectId, { LastName: 'Wang', FirstName: 'Li' });
      const requestsBefore = sim.stats().requests;
      const again = await svc.createOrFind(req());
      assert.equal(again.created, false);
      assert.equal(again.customerId, first.customerId);
      assert.equal(sim.stats().requests - requestsBefore, 2, 'two requests for a returning follower: the identification, then its customer (no $expand, no navigation path in $select)');
      assert.equal(sim.customers.length, 1);
    });

    it('identification needs an ID type and the OpenID (C4C_INPUT, nothing sent)', () => {
      const svc = service(client());
      assert.throws(() => svc.buildRequest(input('o1', { lookupField: 'identification' })), (e) => e.code === 'C4C_INPUT' && /ID type/.test(e.message));
      assert.throws(() => svc.buildRequest(input('o1', { lookupField: 'identification', identificationType: 'WX01', openid: undefined })), (e) => e.code === 'C4C_INPUT');
      assert.equal(sim.stats().requests, 0);
    });

    it('`*` and case variants never match another follower; an obsolete customer is not reused', async () => {
      // The simulator does what C4C does: these all match oAbc on the server...
      assert.equal(simMatches('LastName', 'oAbc', 'OABC'), true);
      assert.equal(simMatches('LastName', 'oAbc', 'oA*'), true);
      const svc = service(client());
      const abc = await svc.createOrFind(svc.buildRequest(input('oAbc')));
      for (const variant of ['OABC', 'oabc', 'oA*', '*', 'o*c']) {
        const r = await svc.createOrFind(svc.buildRequest(input(variant)));
        assert.equal(r.created, true, `${variant} got its own customer`);
        assert.notEqual(r.customerId, abc.customerId);
      }
      const back = await svc.createOrFind(svc.buildRequest(input('oAbc')));
      assert.equal(back.customerId, abc.customerId, 'oAbc still finds its own');
      assert.equal(back.matches, 1);
      sim.update(abc.objectId, { LifeCycleStatusCode: '4' });
      const after = await svc.createOrFind(svc.buildRequest(input('oAbc')));
      assert.equal(after.created, true, 'the obsolete customer is ignored');
      assert.equal(sim.customers.length, 7);
    });

    it('the lookup asks only for the fields it needs ($select)', async () => {
      const svc = service(client());
      await svc.createOrFind(svc.buildRequest(input('oSel')));
      const r = await svc.createOrFind(svc.buildRequest(input('oSel')));
      assert.deepEqual(Object.keys(r.entity).filter((k) => k !== '__metadata').sort(), ['CustomerID', 'LastName', 'LifeCycleStatusCode', 'ObjectID']);
    });

    it('$metadata with a DTD is refused; a malformed one too', () => {
      assert.throws(() => lib.parseMetadata('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><edmx:Edmx/>'), /DTD/);
      assert.throws(() => lib.parseMetadata('<edmx:Edmx><edmx:DataServices><Schema></edmx:DataServices>'), /well-formed/);
      const md = lib.builtInMetadata();
      assert.equal(md.entityTypes.get('IndividualCustomer').navigation.get('IndividualCustomerIdentification'), 'IndividualCustomerIdentification');
      assert.equal(md.entitySets.get('IndividualCustomerIdentificationCollection'), 'IndividualCustomerIdentification');
    });

    it('a 400 naming an unknown property makes the next create read $metadata again', async () => {
      const svc = service(client());
      await svc.metadataFor(SET);
      sim.injectErrors(400, 1, { kind: 'post', body: { error: { code: 'SY/530', message: { lang: 'en', value: "Property 'NewField_KUT' is invalid" } } } });
      await assert.rejects(svc.createOrFind(svc.buildRequest(input('oRe'))), (e) => e.code === 'SY/530');
      await svc.createOrFind(svc.buildRequest(input('oRe2')));
      assert.equal(sim.stats().metadata, 2);
    });
  });

  describe('sessions, languages, errors', () => {
    it('a technical user (no CSRF token): one logon for many creates, cookies kept', async () => {
      sim.faults.technicalUser = true;
      const c = client();
      const svc = service(c);
      for (let i = 0; i < 5; i++) assert.equal((await svc.createOrFind(svc.buildRequest(input(`oTech${i}`)))).created, true);
      assert.equal(sim.stats().logons, 1, 'one session for everything');
      assert.equal(sim.stats().csrfFetches, 0);
      assert.equal(c.stats.csrfFetches, 1, 'asked once, got none, did not ask again');
      assert.equal(sim.customers.length, 5);
    });

    it('the SAP cookies are set: SAP_SESSIONID_<SID>_<client>, sap-XSRF_<SID>_<client>, sap-usercontext', async () => {
      const res = await fetch(`${base}/sap/c4c/odata/v1/c4codataapi/?$format=json`, { headers: { Authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`, 'x-csrf-token': 'fetch' } });
      const names = res.headers.getSetCookie().map((c) => c.split('=')[0]).sort();
      assert.deepEqual(names, ['SAP_SESSIONID_MYT_123', 'sap-XSRF_MYT_123', 'sap-usercontext']);
    });

    it('language: sap-language and Accept-Language sent; an empty error code keeps C4C’s German or Chinese text', async () => {
      const de = service(client({ language: 'de' }));
      await de.metadataFor(SET);
      sim.injectErrors(400, 1, { kind: 'post', mode: 'empty-code', lang: 'de' });
      await assert.rejects(de.createOrFind(de.buildRequest(input('oDe'))), (e) => {
        assert.equal(e.code, 'C4C_400');
        assert.match(e.message, /Ungültiger Wert für Eigenschaft RoleCode/);
        return true;
      });
      assert.ok(sim.stats().languages.de >= 2);
      const zh = service(client({ language: 'zh' }));
      await zh.metadataFor(SET);
      sim.injectErrors(500, 1, { kind: 'post', mode: 'empty-code', lang: 'zh' });
      await assert.rejects(zh.createOrFind(zh.buildRequest(input('oZh'))), (e) => e.code === 'C4C_500' && /处理请求时发生内部错误/.test(e.message));
    });

    it('the sandbox CLI takes --extension-field (repeatable)', () => {
      assert.deepEqual(parseArgs(['--extension-field', 'WeChatOpenID_KUT', '--extension-field=Channel_SDK']).extensionFields, ['WeChatOpenID_KUT', 'Channel_SDK']);
    });
  });

  describe('client certificate authentication', () => {
    let dir;
    let server;
    let httpsBase;
    const pem = (name) => fs.readFileSync(path.join(dir, name), 'utf8');
    before(async function () {
      needPrograms(this, 'openssl');
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'c4c-tls-'));
      const ssl = (...args) => execFileSync(programPath('openssl'), args, { cwd: dir, stdio: 'pipe' });
      ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Test CA (test only)');
      ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
      fs.writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
      ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'san.ext');
      ssl('req', '-newkey', 'rsa:2048', '-keyout', 'client.key', '-passout', 'pass:key-pass-99', '-out', 'client.csr', '-subj', '/CN=C4C_COMM_USER');
      ssl('x509', '-req', '-in', 'client.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.pem', '-days', '2');
      server = https.createServer({ key: pem('server.key'), cert: pem('server.pem'), ca: pem('ca.pem'), requestCert: true, rejectUnauthorized: true }, (req, res) => {
        if (!sim.handle(req, res)) res.end();
      });
      await new Promise((r) => server.listen(0, '127.0.0.1', r));
      httpsBase = `https://127.0.0.1:${server.address().port}`;
    });
    after(() => {
      server?.close();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it('creates with the certificate and an encrypted key (no password sent); without one the TLS handshake fails', async () => {
      const c = new lib.C4CClient({ baseUrl: httpsBase, auth: 'certificate', certificate: pem('client.pem'), privateKey: pem('client.key'), passphrase: 'key-pass-99', ca: pem('ca.pem'), retry: { retries: 0 } });
      const svc = service(c);
      const r = await svc.createOrFind(svc.buildRequest(input('oCert')));
      assert.equal(r.created, true);
      assert.equal(sim.stats().authFailures, 0);
      c.close();
      const noCert = new lib.C4CClient({ baseUrl: httpsBase, username: USER, password: PASSWORD, ca: pem('ca.pem'), retry: { retries: 0 } });
      await assert.rejects(service(noCert).createOrFind(svc.buildRequest(input('oNoCert'))), (e) => e instanceof lib.C4CError && e.statusCode === undefined);
      assert.equal(sim.customers.length, 1);
    });

    it('a wrong passphrase is a configuration error at once, without the key in it', () => {
      assert.throws(() => new lib.C4CClient({ baseUrl: httpsBase, auth: 'certificate', certificate: pem('client.pem'), privateKey: pem('client.key'), passphrase: 'wrong' }), (e) => {
        assert.equal(e.code, 'C4C_CONFIG');
        assert.ok(!e.message.includes('PRIVATE KEY'));
        return true;
      });
    });
  });
});
