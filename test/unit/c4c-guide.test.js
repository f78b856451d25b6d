'use strict';
// C4C as SAP's C4C OData developer guide documents it (issue 20): $metadata?$filter=<EntityType>,…
// with the full $metadata once per client when a tenant refuses or ignores it, identification
// lookups without $expand or navigation paths in $select, paging by __next, typed lookup literals
// — against a simulator as strict as the guide.
const assert = require('node:assert/strict');
const lib = require('../../dist/lib');
const { checkC4C } = require('../../dist/lib/check');
const { C4CSimulator, C4C_SERVICE } = require('../../dist/sandbox/c4c');
const { useSimulator } = require('../helpers/sims');

const USER = 'SANDBOX_USER';
const PASSWORD = 'sandbox-password-42';
const SET = 'IndividualCustomerCollection';
const AUTH = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
const FILTERED = '?$filter=IndividualCustomer%2CIndividualCustomerIdentification';

describe('C4C as SAP\'s OData guide documents it (simulator as strict as the guide)', function () {
  this.timeout(60000);
  let sim;
  let base;
  useSimulator(() => new C4CSimulator({ users: { [USER]: PASSWORD }, extensionFields: ['WeChatOpenID_KUT'] }), (s, b) => { sim = s; base = b; });
  const client = (extra = {}) => new lib.C4CClient({ baseUrl: base, username: USER, password: PASSWORD, ...extra, retry: { baseMs: 20, maxMs: 200, retries: 1, ...extra.retry } });
  const service = (c, extra = {}) => new lib.CustomerService(c, { timeoutMs: 5000, ...extra });
  const input = (openid, extra = {}) => ({ entitySet: SET, roleCode: 'CRM000', firstName: 'Wechat', lastName: openid, openid, lookup: true, lookupField: 'LastName', ...extra });
  const get = (path, headers = {}) => fetch(`${base}${C4C_SERVICE}/${path}`, { headers: { authorization: AUTH, ...headers } });
  /** A customer as C4C holds it, put straight into the simulator. */
  const seed = (i, fields = {}) => {
    const c = { ObjectID: `SEED${String(i).padStart(28, '0')}`, CustomerID: String(2000000 + i), RoleCode: 'CRM000', LastName: `seed${i}`, LifeCycleStatusCode: '2', ...fields };
    sim.customers.push(c);
    return c;
  };

  describe('the simulator refuses what the guide does not document', () => {
    it('$metadata: ?entityset= and other unknown options → 400; ?$filter=<EntityType> answers that type and its dependent types; typed extension fields declared', async () => {
      assert.equal((await get('$metadata?entityset=IndividualCustomerCollection')).status, 400);
      assert.equal((await get('$metadata?sap-client=123')).status, 400);
      const subset = await (await get('$metadata?$filter=IndividualCustomer')).text();
      const md = lib.parseMetadata(subset);
      // the type and the types it depends on (navigation targets, its code lists), as the guide says
      assert.deepEqual([...md.entityTypes.keys()], ['IndividualCustomer', 'IndividualCustomerIdentification', 'CodeList']);
      assert.ok(md.entitySets.has('IndividualCustomerCollection') && md.entitySets.has('IndividualCustomerRoleCodeCollection'));
      const props = md.entityTypes.get('IndividualCustomer').properties;
      assert.equal(props.get('FollowerUUID_KUT').type, 'Edm.Guid');
      assert.equal(props.get('WeChatFollower_KUT').type, 'Edm.Boolean');
      assert.equal(props.get('FollowedOn_KUT').type, 'Edm.DateTime');
      assert.equal(props.get('WeChatOpenID_KUT').extension, true);
      const full = lib.parseMetadata(await (await get('$metadata')).text());
      assert.ok(full.entityTypes.has('IndividualCustomerIdentification') && full.entityTypes.has('CodeList'));
    });

    it('`or` across two properties → 400; on one property it works', async () => {
      seed(1, { LastName: 'a', FirstName: 'b' });
      const across = await get(`${SET}?$format=json&$filter=${encodeURIComponent("LastName eq 'a' or FirstName eq 'b'")}`);
      assert.equal(across.status, 400);
      assert.match((await across.json()).error.message.value, /'or' is supported only between conditions on one property/);
      const one = await get(`${SET}?$format=json&$filter=${encodeURIComponent("LastName eq 'a' or LastName eq 'c'")}`);
      assert.equal(one.status, 200);
      assert.equal((await one.json()).d.results.length, 1);
    });

    it('a navigation path in $select → 400; a literal not of the property\'s Edm type → 400', async () => {
      const path = await get(`IndividualCustomerIdentificationCollection?$format=json&$expand=IndividualCustomer&$select=${encodeURIComponent('IDNumber,IndividualCustomer/CustomerID')}`);
      assert.equal(path.status, 400);
      assert.match((await path.json()).error.message.value, /navigation path/);
      const id = '0a1b2c3d-0000-4000-8000-00000000abcd';
      for (const [filter, status] of [[`FollowerUUID_KUT eq '${id}'`, 400], [`FollowerUUID_KUT eq guid'${id}'`, 200], ["WeChatFollower_KUT eq 'true'", 400], ['WeChatFollower_KUT eq true', 200], ["FollowedOn_KUT eq '2024-05-01T08:00:00'", 400], ["FollowedOn_KUT eq datetime'2024-05-01T08:00:00'", 200]]) {
        assert.equal((await get(`${SET}?$format=json&$filter=${encodeURIComponent(filter)}`)).status, status, filter);
      }
    });

    it('1,000 rows a page without $top, 100 with $expand, the rest behind __next', async () => {
      for (let i = 0; i < 1050; i++) seed(i);
      const page1 = (await (await get(`${SET}?$format=json&$select=ObjectID`)).json()).d;
      assert.equal(page1.results.length, 1000);
      const next = new URL(page1.__next);
      const page2 = (await (await get(`${SET}${next.search}`)).json()).d;
      assert.equal(page2.results.length, 50);
      assert.equal(page2.__next, undefined);
      assert.equal(page2.results[49].ObjectID, sim.customers[1049].ObjectID);
      for (let i = 0; i < 150; i++) sim.identifications.push({ ObjectID: `I${i}`, ParentObjectID: sim.customers[i].ObjectID, IDTypeCode: 'WX01', IDNumber: `o${i}` });
      const expanded = (await (await get('IndividualCustomerIdentificationCollection?$format=json&$expand=IndividualCustomer')).json()).d;
      assert.equal(expanded.results.length, 100);
      assert.ok(expanded.__next);
      const top = (await (await get(`${SET}?$format=json&$top=20`)).json()).d;
      assert.equal(top.results.length, 20);
      assert.equal(top.__next, undefined);
    });

    it('Atom XML unless JSON is asked for ($format=json or Accept: application/json)', async () => {
      seed(1);
      const atom = await get(SET);
      assert.match(atom.headers.get('content-type'), /application\/atom\+xml/);
      assert.match(await atom.text(), /^<\?xml[\s\S]*<feed [\s\S]*<m:properties><d:ObjectID>SEED/);
      assert.match((await get(`${SET}?$format=json`)).headers.get('content-type'), /json/);
      assert.match((await get(SET, { accept: 'application/json' })).headers.get('content-type'), /json/);
    });
  });

  describe('$metadata?$filter= and the full $metadata once per client', () => {
    it('a tenant that refuses ?entityset=: $filter=<EntityType>,… read once, an extension-field follower created and found', async () => {
      assert.equal((await get('$metadata?entityset=IndividualCustomerCollection')).status, 400);
      sim.metadataQueries.length = 0;
      const c = client();
      const svc = service(c);
      const req = () => svc.buildRequest(input('oExt', { lastName: 'Zhang', lookupField: 'WeChatOpenID_KUT', fields: { WeChatOpenID_KUT: 'oExt' } }));
      assert.equal((await svc.createOrFind(req())).created, true);
      assert.equal((await svc.createOrFind(req())).created, false);
      assert.deepEqual(sim.metadataQueries, [FILTERED]);
      assert.equal(c.stats.fullMetadata, 0);
      assert.equal(sim.customers.length, 1);
    });

    for (const [mode, why, queries] of [
      ['refuse', 'refuses $filter (400)', [FILTERED, '']],
      ['partial', 'answers $filter without one of the types', [FILTERED, '']],
      ['ignore', 'ignores $filter (answers the whole $metadata)', [FILTERED]],
    ]) {
      it(`a tenant that ${why}: the full $metadata, read once for the client's life`, async () => {
        sim.opts.metadataFilter = mode;
        const c = client();
        const svc = service(c);
        const req = (k) => svc.buildRequest(input(k, { lastName: 'Li', lookupField: 'WeChatOpenID_KUT', fields: { WeChatOpenID_KUT: k } }));
        for (const k of ['oA', 'oB', 'oA']) await svc.createOrFind(req(k));
        // another entity set of the same client, and Test connection's pair: no further read
        await c.metadata(['IndividualCustomerIdentificationCollection']);
        await service(c).metadataFor(SET);
        assert.deepEqual(sim.metadataQueries, queries);
        assert.equal(sim.customers.length, 2);
        assert.equal(svc.stats.metadataFallbacks, 0, 'never the shipped excerpt');
      });
    }

    it('a tenant that answers $filter= with the dependent types as well (the guide): a re-read after a refused property and another entity set take the subset, never the full $metadata', async () => {
      const c = client();
      const svc = service(c);
      const req = (k) => svc.buildRequest(input(k, { lastName: 'Li', lookupField: 'WeChatOpenID_KUT', fields: { WeChatOpenID_KUT: k } }));
      await svc.createOrFind(req('oA'));
      const md = await c.metadata(['IndividualCustomerIdentificationIDTypeCodeCollection']);
      assert.ok(md.entityTypes.has('CodeList'), 'the answer holds a type the client did not name');
      // C4C refuses a create naming a property: the service reads $metadata again for the next follower
      sim.injectErrors(400, 1, { kind: 'post', body: { error: { code: 'SY/530', message: { lang: 'en', value: 'Property WeChatOpenID_KUT is invalid' } } } });
      await assert.rejects(svc.createOrFind(req('oB')), /Property WeChatOpenID_KUT/);
      assert.equal((await svc.createOrFind(req('oC'))).created, true);
      assert.deepEqual(sim.metadataQueries, [FILTERED, FILTERED]);
      assert.equal(c.stats.fullMetadata, 0);
      assert.equal(svc.stats.metadataFallbacks, 0);
    });

    it('Test connection reads $metadata as the nodes do, and says when it had to read the full one', async () => {
      const opts = { baseUrl: base, servicePath: C4C_SERVICE, username: USER, password: PASSWORD };
      const filtered = await checkC4C(opts);
      assert.equal(filtered.ok, true, filtered.message);
      assert.match(filtered.message, /\$metadata\?\$filter=IndividualCustomer,IndividualCustomerIdentification read/);
      sim.opts.metadataFilter = 'refuse';
      const full = await checkC4C(opts);
      assert.equal(full.ok, true, full.message);
      assert.match(full.message, /the full \$metadata/);
      assert.deepEqual(sim.metadataQueries, [FILTERED, FILTERED, '']);
    });
  });

  describe('identification lookups a tenant accepts', () => {
    it('no $expand, no navigation path in $select: the identification, then its customer by ObjectID', async () => {
      const svc = service(client());
      const req = () => svc.buildRequest(input('oIdent', { lookupField: 'identification', identificationType: 'WX01' }));
      const first = await svc.createOrFind(req());
      sim.update(first.objectId, { LastName: 'Renamed' });
      const log = [];
      sim.onLog.add((l) => log.push(l));
      const again = await svc.createOrFind(req());
      assert.equal(again.created, false);
      assert.equal(again.customerId, first.customerId);
      assert.deepEqual(log, ['C4C query identification', 'C4C query']);
      assert.equal(sim.customers.length, 1);
    });

    it('an OpenID whose first 1,000 identifications lead to obsolete customers: the active one on page 2 is found', async () => {
      for (let i = 0; i < 1000; i++) {
        const c = seed(i, { LifeCycleStatusCode: '4' });
        sim.identifications.push({ ObjectID: `ID${i}`, ParentObjectID: c.ObjectID, IDTypeCode: 'WX01', IDNumber: 'oMany' });
      }
      const active = seed(5000);
      sim.identifications.push({ ObjectID: 'ID5000', ParentObjectID: active.ObjectID, IDTypeCode: 'WX01', IDNumber: 'oMany' });
      const svc = service(client());
      const r = await svc.createOrFind(svc.buildRequest(input('oMany', { lookupField: 'identification', identificationType: 'WX01' })));
      assert.equal(r.created, false);
      assert.equal(r.objectId, active.ObjectID);
      assert.equal(sim.customers.length, 1001, 'no new customer');
    });

    it('a property lookup whose first page is all case variants: the exact row on page 2 is found', async () => {
      for (let i = 0; i < 1000; i++) seed(i, { LastName: 'ZHANG' });
      const mine = seed(5000, { LastName: 'Zhang' });
      const svc = service(client());
      const r = await svc.createOrFind(svc.buildRequest(input('Zhang')));
      assert.equal(r.created, false);
      assert.equal(r.objectId, mine.ObjectID);
    });

    it('a lookup that reads its last page without the follower while C4C still has more (10 pages of case variants): refused with C4C_LOOKUP_PAGES, no second customer', async () => {
      for (let i = 0; i < 10000; i++) seed(i, { LastName: 'ZHANG' });
      const mine = seed(20000, { LastName: 'Zhang' });
      const svc = service(client());
      await assert.rejects(svc.createOrFind(svc.buildRequest(input('Zhang'))), (e) => e.code === 'C4C_LOOKUP_PAGES' && /10 pages/.test(e.message) && e.transient === false);
      assert.equal(sim.customers.filter((c) => c.LastName === 'Zhang').length, 1, 'the follower\'s customer is still the only one');
      assert.equal(sim.customers[sim.customers.length - 1], mine);
    });
  });

  describe('typed lookup literals from $metadata', () => {
    it('the literal of each Edm type; a value that cannot be of the type is C4C_INPUT', () => {
      assert.equal(lib.odataValue('Edm.String', "O'Brien").literal, "'O''Brien'");
      assert.equal(lib.odataValue('Edm.Guid', '0A1B2C3D-0000-4000-8000-00000000ABCD').literal, "guid'0A1B2C3D-0000-4000-8000-00000000ABCD'");
      assert.equal(lib.odataValue('Edm.Boolean', 'TRUE').literal, 'true');
      assert.equal(lib.odataValue('Edm.DateTime', '2024-05-01').literal, "datetime'2024-05-01T00:00:00'");
      assert.equal(lib.odataValue('Edm.DateTime', '2024-05-01T10:00:00+02:00').literal, "datetime'2024-05-01T08:00:00'");
      assert.equal(lib.odataValue('Edm.DateTime', '/Date(1714550400000)/').literal, "datetime'2024-05-01T08:00:00'");
      assert.equal(lib.odataValue('Edm.DateTimeOffset', '2024-05-01T08:00:00Z').literal, "datetimeoffset'2024-05-01T08:00:00Z'");
      assert.equal(lib.odataValue('Edm.Int32', '42').literal, '42');
      assert.equal(lib.odataValue('Edm.Decimal', '1.50').literal, '1.50M');
      assert.equal(lib.odataValue('Edm.Double', '2.0').literal, '2.0d');
      assert.equal(lib.odataValue('Edm.Single', '-2.5').literal, '-2.5f');
      for (const [type, bad] of [['Edm.Guid', 'not-a-guid'], ['Edm.Boolean', 'yes'], ['Edm.DateTime', '01.05.2024'], ['Edm.Int32', '4.2'], ['Edm.Decimal', '1,5'], ['Edm.Binary', 'AA==']]) {
        assert.throws(() => lib.odataValue(type, bad), (e) => e.code === 'C4C_INPUT' && e.message.includes(type), `${type} ${bad}`);
      }
      // the re-check: GUIDs without case, dates and numbers by value
      assert.equal(lib.odataValue('Edm.Guid', '0a1b2c3d-0000-4000-8000-00000000abcd').same('0A1B2C3D-0000-4000-8000-00000000ABCD'), true);
      assert.equal(lib.odataValue('Edm.DateTime', '2024-05-01T08:00:00Z').same('/Date(1714550400000)/'), true);
      assert.equal(lib.odataValue('Edm.Decimal', '1.5').same('1.50'), true);
      assert.equal(lib.odataValue('Edm.Boolean', 'false').same(true), false);
      assert.equal(lib.odataValue('Edm.String', 'abc').same('ABC'), false);
    });

    it('a date that is not in the calendar is C4C_INPUT (not the next month\'s day); Edm.Int64 keys re-checked digit for digit, beyond 2^53', () => {
      for (const bad of ['2024-02-30', '2023-02-29', '2024-04-31', '2024-05-01T25:00:00', '2024-05-01T10:61:00']) {
        assert.throws(() => lib.odataValue('Edm.DateTime', bad), (e) => e.code === 'C4C_INPUT', bad);
      }
      assert.equal(lib.odataValue('Edm.DateTime', '2024-02-29').literal, "datetime'2024-02-29T00:00:00'");
      const big = lib.odataValue('Edm.Int64', '9007199254740993');
      assert.equal(big.literal, '9007199254740993L');
      assert.equal(big.same('9007199254740992'), false, 'another follower\'s key, equal only as a float');
      assert.equal(big.same('9007199254740993'), true);
      assert.equal(lib.odataValue('Edm.Int64', '+42').same(42), true);
    });

    it('a GUID extension-field key finds the follower C4C answered in upper case: no second customer', async () => {
      const svc = service(client());
      const guid = '0a1b2c3d-0000-4000-8000-00000000abcd';
      const req = () => svc.buildRequest(input('oGuid', { lookupField: 'FollowerUUID_KUT', fields: { FollowerUUID_KUT: guid } }));
      const first = await svc.createOrFind(req());
      assert.equal(first.created, true);
      assert.equal(first.entity.FollowerUUID_KUT, guid.toUpperCase(), 'C4C answers it in upper case');
      const again = await svc.createOrFind(req());
      assert.equal(again.created, false);
      assert.equal(again.objectId, first.objectId);
      assert.equal(sim.customers.length, 1);
    });

    it('Boolean and DateTime keys are sent typed and found; a key that is not of the type is refused before any request', async () => {
      const svc = service(client());
      await svc.metadataFor(SET);
      const flag = () => svc.buildRequest(input('oBool', { lookupField: 'WeChatFollower_KUT', fields: { WeChatFollower_KUT: true } }));
      assert.equal((await svc.createOrFind(flag())).created, true);
      assert.equal((await svc.createOrFind(flag())).created, false);
      const since = (v) => svc.buildRequest(input('oDate', { lookupField: 'FollowedOn_KUT', fields: { FollowedOn_KUT: v } }));
      const dated = await svc.createOrFind(since('2024-05-01T08:00:00Z'));
      assert.equal(dated.created, true);
      const again = await svc.createOrFind(since('/Date(1714550400000)/'));
      assert.equal(again.created, false);
      assert.equal(again.objectId, dated.objectId);
      const before = sim.stats().requests;
      await assert.rejects(svc.createOrFind(since('next Tuesday')), (e) => e.code === 'C4C_INPUT' && /FollowedOn_KUT key "next Tuesday" is not a date/.test(e.message));
      await assert.rejects(svc.createOrFind(svc.buildRequest(input('oG', { lookupField: 'FollowerUUID_KUT', fields: { FollowerUUID_KUT: 'x' } }))), (e) => e.code === 'C4C_INPUT' && /Edm\.Guid/.test(e.message));
      assert.equal(sim.stats().requests, before, 'nothing sent');
      assert.equal(sim.customers.length, 2);
    });

    it('lookups on two properties waiting for a slot are combined per property: never an `or` across properties', async () => {
      const c = client({ maxConcurrency: 1 });
      const svc = service(c);
      await svc.metadataFor(SET);
      const results = await Promise.all(Array.from({ length: 30 }, (_, i) => svc.createOrFind(svc.buildRequest(i % 2
        ? input(`oL${i}`)
        : input(`oE${i}`, { lookupField: 'WeChatOpenID_KUT', fields: { WeChatOpenID_KUT: `oE${i}` } })))));
      assert.equal(results.filter((r) => r.created).length, 30, 'every lookup answered (a cross-property `or` would be a 400)');
      assert.ok(c.stats.combinedLookups > 0, 'lookups were combined');
      assert.equal(sim.customers.length, 30);
    });
  });
});
