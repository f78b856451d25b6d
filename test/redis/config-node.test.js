'use strict';
/** The wechat-c4c-redis config node in a Node-RED runtime (node-red-node-test-helper) against real redis-server processes. */
const assert = require('node:assert/strict');
const { helper, ours, everythingSaid } = require('../helpers/node-red');
const { startRedis } = require('../helpers/redis');
const { needPrograms } = require('../helpers/programs');
const { sleep, waitFor } = require('../helpers/wait');

const NODES = [ours('wechat-c4c-redis')];

describe('wechat-c4c-redis config node (real redis-server)', function () {
  this.timeout(30000);
  let redis;
  let secured;
  const PASSWORD = 'redis-pass-Xq81';
  before(async function () {
    needPrograms(this, 'redis-server');
    redis = await startRedis();
    secured = await startRedis({ args: ['--requirepass', PASSWORD] });
  });
  after(async () => { await redis?.stop(); await secured?.stop(); });
  afterEach(async () => { await helper.unload(); delete process.env.WECHAT_C4C_TEST_REDIS_URL; delete process.env.WECHAT_C4C_TEST_REDIS_EMPTY; });

  it('connects with the given URL and prefix; two nodes share state; unloading closes the store', async () => {
    await helper.load(NODES, [
      { id: 'r1', type: 'wechat-c4c-redis', name: 'shared', url: redis.url, prefix: 'nr-test:' },
      { id: 'r2', type: 'wechat-c4c-redis', url: redis.url, prefix: 'nr-test:' },
    ]);
    const r1 = helper.getNode('r1');
    const r2 = helper.getNode('r2');
    assert.equal(r1.store.kind, 'redis');
    await waitFor(() => r1.store.healthy && r2.store.healthy, { what: 'did not connect' });
    await r1.store.tokens().set('wx0123456789abcdef', { token: 'T1', expiresAt: Date.now() + 60000 });
    assert.equal((await r2.store.tokens().get('wx0123456789abcdef')).token, 'T1');
    const keys = await r1.store.cmd(['KEYS', 'nr-test:*']);
    assert.deepEqual(keys, ['nr-test:{wx0123456789abcdef}:token:access']);
    const store = r1.store;
    await helper.unload();
    assert.equal(store.healthy, false, 'the store stayed connected after the node closed');
    await assert.rejects(store.tokens().get('wx0123456789abcdef'), (e) => e.code === 'STORE_UNAVAILABLE');
  });

  it('defaults: redis://127.0.0.1:6379 and prefix wechat-c4c:; ${REDIS_URL}-style values come from the environment', async () => {
    process.env.WECHAT_C4C_TEST_REDIS_URL = redis.url;
    await helper.load(NODES, [
      { id: 'd', type: 'wechat-c4c-redis', prefix: '' },
      { id: 'e', type: 'wechat-c4c-redis', url: '${WECHAT_C4C_TEST_REDIS_URL}', prefix: 'wechat-c4c:' },
    ]);
    assert.equal(helper.getNode('d').displayUrl, 'redis://127.0.0.1:6379');
    assert.equal(helper.getNode('d').prefix, 'wechat-c4c:');
    const e = helper.getNode('e');
    assert.equal(e.displayUrl, redis.url);
    await waitFor(() => e.store.healthy, { what: '${VAR} URL did not connect' });
  });

  it('URL an unset or empty ${VAR} (the bundled flow without REDIS_URL): no Redis, no problem, a log line — memory', async () => {
    process.env.WECHAT_C4C_TEST_REDIS_EMPTY = '';
    await helper.load(NODES, [{ id: 'u', type: 'wechat-c4c-redis', url: '${WECHAT_C4C_TEST_REDIS_URL}' }, { id: 'v', type: 'wechat-c4c-redis', url: '${WECHAT_C4C_TEST_REDIS_EMPTY}' }]);
    const v = helper.getNode('v');
    assert.equal(v.off, true, 'REDIS_URL= (set, empty) is not "no Redis"');
    assert.equal(v.store, undefined);
    const u = helper.getNode('u');
    assert.equal(u.store, undefined);
    assert.equal(u.off, true);
    assert.deepEqual(u.problems, []);
    const warned = helper._NodePrototype.warn.getCalls().filter((c) => c.thisValue.id === 'u');
    assert.equal(warned.length, 0);
    const logged = helper._NodePrototype.log.getCalls().filter((c) => c.thisValue.id === 'u');
    assert.equal(logged.length, 1);
    for (const lang of ['en-US', 'zh-CN']) {
      assert.match(require(`../../nodes/wechat-c4c-redis/locales/${lang}/wechat-c4c-redis.json`)['wechat-c4c-redis'].log.off, /__name__/);
    }
  });

  it('another setting an unset ${VAR} (the password): reported by name, no store is made', async () => {
    await helper.load(NODES, [{ id: 'u', type: 'wechat-c4c-redis', url: redis.url }], { u: { password: '${WECHAT_C4C_TEST_REDIS_PW}' } });
    const u = helper.getNode('u');
    assert.equal(u.store, undefined);
    assert.equal(u.off, false);
    // the helper runtime has no catalogs: RED._ gives the key; the catalogs carry __name__
    assert.deepEqual(u.problems, ['wechat-c4c-redis.errors.env-missing']);
    const warned = helper._NodePrototype.warn.getCalls().filter((c) => c.thisValue.id === 'u');
    assert.equal(warned.length, 1);
    for (const lang of ['en-US', 'zh-CN']) {
      assert.match(require(`../../nodes/wechat-c4c-redis/locales/${lang}/wechat-c4c-redis.json`)['wechat-c4c-redis'].errors['env-missing'], /__name__/);
    }
  });

  it('password as a credential: connects with it; a wrong one is reported without the password', async () => {
    await helper.load(NODES, [
      { id: 'ok', type: 'wechat-c4c-redis', url: secured.url },
      { id: 'bad', type: 'wechat-c4c-redis', url: secured.url.replace('redis://', 'redis://default:wrong-Pw-7731@') },
    ], { ok: { password: PASSWORD }, bad: {} });
    const ok = helper.getNode('ok');
    await waitFor(() => ok.store.healthy, { what: 'did not connect with the password' });
    await ok.store.tokens().set('wxapp', { token: 'T', expiresAt: Date.now() + 60000 });
    const bad = helper.getNode('bad');
    await assert.rejects(bad.store.tokens().get('wxapp'), (e) => e.code === 'STORE_UNAVAILABLE' && !e.message.includes('wrong-Pw-7731'));
    assert.equal(bad.displayUrl.includes('wrong-Pw-7731'), false);
    await sleep(300);
    const said = everythingSaid();
    assert.equal(said.includes(PASSWORD), false, 'the password was logged');
    assert.equal(said.includes('wrong-Pw-7731'), false, 'the URL password was logged');
  });
  it('c4c-config takes its per-follower locks per tenant host, never with credentials a Tenant URL carries', async () => {
    await helper.load([ours('wechat-c4c-redis'), ours('c4c-config')], [
      { id: 'r', type: 'wechat-c4c-redis', url: redis.url, prefix: 'tenant-test:' },
      { id: 'c', type: 'c4c-config', baseUrl: 'https://someone:Pw-in-url-77@My123456.CRM.example:8443/', store: 'r' },
    ], { c: { username: 'U', password: 'P' } });
    const r = helper.getNode('r');
    await waitFor(() => r.store.healthy, { what: 'did not connect' });
    let keys;
    await helper.getNode('c').customers.locks.withLock('oFollower1', async () => { keys = await r.store.cmd(['KEYS', 'tenant-test:*']); });
    assert.deepEqual(keys, ['tenant-test:{c4c:my123456.crm.example:8443}:lock:oFollower1']);
  });
});
