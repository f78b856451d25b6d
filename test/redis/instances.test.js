'use strict';
/**
 * Several instances on one Redis, in one Node-RED runtime: two wechat-config + wechat-in paths
 * (/a and /b), each with its own wechat-c4c-redis node (its own connections, the same prefix),
 * behave like two Node-RED processes behind a load balancer. "Dead" instances are lib providers
 * whose connection is cut without a clean close. Real redis-server, C4C and WeChat API simulators.
 */
const assert = require('node:assert/strict');
const request = require('supertest');
const lib = require('../../dist/lib');
const { C4CSimulator } = require('../../dist/sandbox/c4c');
const { WeChatApiSimulator } = require('../../dist/sandbox/wechat-api');
const W = require('../helpers/wechat');
const { helper, httpIn, ours, httpNodeApp, fromNodeRed } = require('../helpers/node-red');
const { startRedis } = require('../helpers/redis');
const { needPrograms } = require('../helpers/programs');
const { sleep, waitFor } = require('../helpers/wait');
const { useSimulator } = require('../helpers/sims');

const statuses = (id) => helper._NodePrototype.status.getCalls().filter((c) => c.thisValue.id === id).map((c) => c.args[0]);
const warnings = (id) => helper._NodePrototype.warn.getCalls().filter((c) => c.thisValue.id === id).map((c) => String(c.args[0]));
const postXml = (agent, path, req) => agent.post(`${path}?${W.toQueryString(req.query)}`).set('Content-Type', 'text/xml').send(req.body);

/** Cut a provider's connections without a clean close: its heartbeat stops, as when the process is killed. */
function kill(provider) {
  for (const c of [provider.client, ...provider.extraClients]) {
    try { c.destroy(); } catch { /* gone */ }
  }
}

describe('several instances on one Redis (node-red-node-test-helper, real redis-server)', function () {
  this.timeout(40000);
  let redis;
  let prefix;
  let n = 0;
  before(async function () {
    needPrograms(this, 'redis-server');
    redis = await startRedis();
  });
  after(async () => { await redis?.stop(); });
  beforeEach(() => { prefix = `inst${++n}:`; });
  afterEach(async () => { await helper.unload(); });

  /** Another instance on the same Redis, outside the test flow: its store provider and its WeChat account. */
  async function otherInstance(aliveTtlMs) {
    const provider = new lib.RedisStoreProvider({ url: redis.url, prefix, aliveTtlMs, commandTimeoutMs: 2000 });
    await waitFor(() => provider.healthy, { what: 'the other instance connected' });
    const account = new lib.WeChatAccount({ appId: W.ACCOUNT.appId, token: W.ACCOUNT.token, encodingAESKey: W.ACCOUNT.encodingAESKey }, { deliveries: provider.deliveries(W.ACCOUNT.appId) });
    return { provider, account };
  }

  describe('wechat-in / wechat-reply', () => {
    const NODES = [httpIn, ours('wechat-c4c-redis'), ours('wechat-config'), ours('wechat-in'), ours('wechat-reply'), fromNodeRed('@node-red/nodes/core/function/89-delay.js')];
    const CREDS = { accA: { token: W.ACCOUNT.token, encodingAESKey: W.ACCOUNT.encodingAESKey }, accB: { token: W.ACCOUNT.token, encodingAESKey: W.ACCOUNT.encodingAESKey } };

    /** Instance "a" replies after `delayMs` (its flow is slow), instance "b" at once. */
    function flow({ url, delayMs = 600 }) {
      const path = (x, extra) => [
        { id: `r${x}`, type: 'wechat-c4c-redis', url, prefix },
        { id: `acc${x.toUpperCase()}`, type: 'wechat-config', appId: W.ACCOUNT.appId, apiBase: 'http://127.0.0.1:1', tokenMode: 'stable', replayWindow: 300, store: `r${x}` },
        { id: `h${x}`, z: 'f1', type: 'http in', url: `/${x}`, method: 'post', wires: [[`in${x}`]] },
        { id: `in${x}`, z: 'f1', type: 'wechat-in', account: `acc${x.toUpperCase()}`, ackTimeout: 4500, dedupeWindow: 60, wires: [[extra ? `slow${x}` : `reply${x}`, `out${x}`]] },
        ...(extra ? [{ id: `slow${x}`, z: 'f1', type: 'delay', pauseType: 'delay', timeout: String(delayMs), timeoutUnits: 'milliseconds', wires: [[`reply${x}`]] }] : []),
        { id: `reply${x}`, z: 'f1', type: 'wechat-reply', account: `acc${x.toUpperCase()}`, replyType: 'text', content: `welcome from ${x}`, contentType: 'str', wires: [[`res${x}`]] },
        { id: `res${x}`, z: 'f1', type: 'http response', wires: [] },
        { id: `out${x}`, z: 'f1', type: 'helper', wires: [] },
      ];
      return [{ id: 'f1', type: 'tab' }, ...path('a', true), ...path('b', false)];
    }
    async function load(opts = {}) {
      await helper.load(NODES, flow({ url: redis.url, ...opts }), CREDS);
      await waitFor(() => helper.getNode('ra').store.healthy && helper.getNode('rb').store.healthy, { what: 'both instances connected' });
      const got = { a: [], b: [] };
      helper.getNode('outa').on('input', (m) => got.a.push(m));
      helper.getNode('outb').on('input', (m) => got.b.push(m));
      return { agent: request(httpNodeApp()), got };
    }

    it('a retry on another instance while the first delivery is in the flow: one flow run, identical reply bytes', async () => {
      const { agent, got } = await load();
      const req = W.safeRequest(W.subscribe('oCrossInstance1'));
      const first = postXml(agent, '/a', req).then((r) => r);
      await waitFor(() => got.a.length === 1, { what: 'instance a received the first delivery' });
      const retries = await Promise.all([postXml(agent, '/b', req), postXml(agent, '/b', req)]);
      const original = await first;
      assert.equal(original.status, 200);
      assert.match(W.openReply(original.text).inner, /welcome from a/);
      for (const r of retries) {
        assert.equal(r.status, 200);
        assert.equal(r.text, original.text, 'a retry on b got other bytes than the first delivery on a');
      }
      // and a late retry (after the reply was stored) gets the same bytes at once
      const late = await postXml(agent, '/b', req);
      assert.equal(late.text, original.text);
      assert.equal(got.a.length, 1);
      assert.equal(got.b.length, 0, 'instance b ran the flow for a retry');
    });

    it('the instance that took the first delivery died before replying: a retry elsewhere takes it over and runs the flow', async () => {
      const { agent, got } = await load();
      const { provider: dead, account: doomed } = await otherInstance(300);
      const req = W.safeRequest(W.subscribe('oOrphaned1'));
      const taken = await doomed.receive({ method: 'POST', query: req.query, body: req.body }, { windowMs: 60000, holdMs: 9500 });
      assert.equal(taken.kind, 'message');
      assert.equal(taken.claim.first, true);
      kill(dead); // SIGKILL: no reply, no clean close; its heartbeat key expires
      await sleep(700);
      const retry = await postXml(agent, '/b', req);
      assert.equal(retry.status, 200);
      assert.match(W.openReply(retry.text).inner, /welcome from b/);
      assert.equal(got.b.length, 1, 'nobody ran the flow for the orphaned follow');
      assert.ok(warnings('inb').some((w) => /wechat-in\.warn\.taken-over/.test(w)), 'no warning about the takeover');
      await dead.close();
    });

    it('a retry that is already waiting when the first delivery\'s instance dies takes it over within its wait', async () => {
      const { agent, got } = await load();
      const { provider: dying, account: doomed } = await otherInstance(600);
      const req = W.safeRequest(W.subscribe('oDiesWhileWaiting1'));
      await doomed.receive({ method: 'POST', query: req.query, body: req.body }, { windowMs: 60000, holdMs: 9500 });
      const retryP = postXml(agent, '/b', req).timeout(4900); // WeChat's 5 s
      await sleep(300);
      assert.equal(got.b.length, 0, 'the retry ran while the first delivery\'s instance lived');
      kill(dying);
      const retry = await retryP;
      assert.equal(retry.status, 200);
      assert.match(W.openReply(retry.text).inner, /welcome from b/);
      assert.equal(got.b.length, 1);
      await dying.close();
    });

    it('a retry while the first delivery\'s instance lives is not taken over', async () => {
      const { agent, got } = await load();
      const { provider: live, account: other } = await otherInstance(300);
      const req = W.safeRequest(W.subscribe('oStillAlive1'));
      const taken = await other.receive({ method: 'POST', query: req.query, body: req.body }, { windowMs: 60000, holdMs: 9500 });
      await sleep(700); // longer than its heartbeat TTL: it is renewed
      const retryP = postXml(agent, '/b', req);
      await sleep(300);
      const sealed = other.sealReply(taken.dedupeKey, 'text', 'welcome from the live one', { encrypted: true });
      await other.settle(taken.dedupeKey, sealed.reply);
      const retry = await retryP;
      assert.equal(retry.text, sealed.reply.body);
      assert.equal(got.b.length, 0);
      await live.close();
    });

    it('Redis down: webhooks are still answered (dedupe on this instance only), red status and one warning; back when Redis is', async () => {
      const own = await startRedis();
      try {
        const { agent, got } = await load({ url: own.url });
        await own.stop();
        await waitFor(() => statuses('ina').some((s) => s.fill === 'red'), { what: 'a red status' });
        const req = W.plainRequest(W.subscribe('oRedisDown1'));
        const res = await postXml(agent, '/b', req);
        assert.equal(res.status, 200);
        assert.match(res.text, /welcome from b/);
        const retry = await postXml(agent, '/b', req); // same instance: still recognised as a retry
        assert.equal(retry.text, res.text);
        assert.equal(got.b.length, 1);
        assert.equal(warnings('inb').filter((w) => /store-down/.test(w)).length, 1, 'one warning per outage, not one per request');
        assert.match(statuses('inb').pop().text, /store-down/);
        const back = await startRedis({ port: own.port });
        own.stop = back.stop;
        await waitFor(() => statuses('inb').some((s) => /store-up/.test(s.text)), { what: 'the status says Redis is back' });
        const after = await postXml(agent, '/b', W.plainRequest(W.subscribe('oRedisBack1')));
        assert.equal(after.status, 200);
        assert.equal(got.b.length, 2);
      } finally {
        await own.stop();
      }
    });

    it('Redis hung (SIGSTOP: connected, never answering): the follow still gets its welcome, not `success`', async () => {
      const own = await startRedis();
      try {
        const { agent, got } = await load({ url: own.url });
        own.pause();
        // WeChat waits 5 s for an answer (then retries): that is the budget here too
        const res = await postXml(agent, '/b', W.plainRequest(W.subscribe('oRedisHung1'))).timeout(4900);
        assert.equal(res.status, 200);
        assert.match(res.text, /welcome from b/, 'the claim waited for Redis past the ack deadline');
        assert.equal(got.b.length, 1);
        assert.ok(warnings('inb').some((w) => /store-down/.test(w)));
        own.resume();
      } finally {
        await own.stop();
      }
    });
  });

  describe('c4c-create-customer work queue', () => {
    const USER = 'SANDBOX_USER';
    const PASSWORD = 'sandbox-password-42';
    const NODES = [ours('wechat-c4c-redis'), ours('c4c-config'), ours('c4c-create-customer')];
    let sim;
    let base;
    useSimulator(() => new C4CSimulator({ users: { [USER]: PASSWORD } }), (s, b) => { sim = s; base = b; });

    function flow(url, node = {}) {
      return [
        { id: 'f1', type: 'tab' },
        { id: 'rs', type: 'wechat-c4c-redis', url, prefix },
        { id: 'sys', type: 'c4c-config', baseUrl: base, servicePath: '/sap/c4c/odata/v1/c4codataapi', maxConcurrency: 4, timeout: 5000, retries: 3, backoffBase: 20, store: 'rs' },
        { id: 'cust', z: 'f1', type: 'c4c-create-customer', system: 'sys', entitySet: 'IndividualCustomerCollection', firstName: 'Wechat', firstNameType: 'str', lastName: 'wechat.openid', lastNameType: 'msg', roleCode: 'CRM000', fields: '', fieldsType: 'json', lookup: true, lookupField: 'LastName', claimAfter: 1, wires: [['out']], ...node },
        { id: 'ncatch', z: 'f1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
        { id: 'out', z: 'f1', type: 'helper', wires: [] },
        { id: 'caught', z: 'f1', type: 'helper', wires: [] },
      ];
    }
    const creds = { sys: { username: USER, password: PASSWORD } };
    async function load(url = redis.url, node) {
      await helper.load(NODES, flow(url, node), creds);
      await waitFor(() => helper.getNode('rs').store.healthy, { what: 'connected' });
      const got = { out: [], caught: [] };
      helper.getNode('out').on('input', (m) => got.out.push(m));
      helper.getNode('caught').on('input', (m) => got.caught.push(m));
      return got;
    }

    it('inputs go through the Redis Stream: one customer each, the msg keeps its own properties', async () => {
      const got = await load();
      for (let i = 0; i < 5; i++) helper.getNode('cust').receive({ payload: { Event: 'subscribe' }, topic: 'event.subscribe', wechat: { openid: `oQueued${i}` }, extra: i });
      helper.getNode('cust').receive({ payload: {}, topic: 'event.subscribe', wechat: { openid: 'oQueued0' }, extra: 'again' });
      await waitFor(() => got.out.length === 6, { what: 'six outputs' });
      assert.equal(sim.customers.length, 5);
      assert.deepEqual(got.out.map((m) => m.extra).sort(), [0, 1, 2, 3, 4, 'again'].sort());
      assert.equal(got.out.filter((m) => m.c4c.created).length, 5);
      assert.ok(got.out.every((m) => m.c4c.recovered === undefined));
      const keys = await helper.getNode('rs').store.cmd(['XLEN', `${prefix}{c4c-create-customer:cust}:queue:stream`]);
      assert.equal(Number(keys), 0, 'finished work is removed from the stream (XDEL)');
    });

    it('work a dead instance took and never finished is recovered after claimAfter: msg.c4c.recovered, payload/topic/wechat as they were', async () => {
      const dead = new lib.RedisStoreProvider({ url: redis.url, prefix, commandTimeoutMs: 2000, closeTimeoutMs: 100 });
      await waitFor(() => dead.healthy, { what: 'the doomed instance connected' });
      const q = dead.queue('c4c-create-customer:cust', { claimAfterMs: 60000 });
      let taken;
      q.consume((item) => { taken = item; return new Promise(() => {}); }); // takes it, never finishes
      await q.add({ uid: 'u-1', msgid: 'm-1', payload: { Event: 'subscribe', FromUserName: 'oOrphanWork1' }, topic: 'event.subscribe', wechat: { openid: 'oOrphanWork1', encrypted: true } });
      await waitFor(() => taken, { what: 'the doomed instance took the work' });
      kill(dead);
      const got = await load();
      await waitFor(() => got.out.length === 1, { what: 'the recovered output' });
      const [m] = got.out;
      assert.equal(m.c4c.recovered, true);
      assert.equal(m.c4c.created, true);
      assert.deepEqual(m.wechat, { openid: 'oOrphanWork1', encrypted: true });
      assert.equal(m.topic, 'event.subscribe');
      assert.equal(m.payload.LastName, 'oOrphanWork1'); // the output payload is the customer
      assert.equal(sim.customers.length, 1);
      await dead.close().catch(() => undefined);
    });

    it('Redis down: the input goes to Catch with code STORE_UNAVAILABLE (nothing dropped), red status', async () => {
      const own = await startRedis();
      const got = await load(own.url);
      await own.stop();
      await waitFor(() => !helper.getNode('rs').store.healthy, { what: 'the store noticed' });
      helper.getNode('cust').receive({ payload: {}, topic: 'event.subscribe', wechat: { openid: 'oNotQueued1' } });
      await waitFor(() => got.caught.length === 1, { what: 'Catch' });
      assert.equal(got.caught[0].error.source.id, 'cust');
      assert.equal(got.caught[0].wechat.openid, 'oNotQueued1');
      const err = helper._NodePrototype.error.getCalls().filter((c) => c.thisValue.id === 'cust').pop();
      assert.equal(err.args[0].code, 'STORE_UNAVAILABLE');
      assert.equal(statuses('cust').pop().fill, 'red');
      assert.equal(got.out.length, 0);
      assert.equal(sim.customers.length, 0);
    });
  });

  describe('access token across instances', () => {
    const APPID = 'wx0123456789abcdef';
    const SECRET = 'token-test-secret';
    let sim;
    let base;
    useSimulator(() => new WeChatApiSimulator({ accounts: [{ appId: APPID, secret: SECRET }] }), (s, b) => { sim = s; base = b; });

    async function instances(count, mode) {
      const out = [];
      for (let i = 0; i < count; i++) {
        const p = new lib.RedisStoreProvider({ url: redis.url, prefix, commandTimeoutMs: 2000 });
        await waitFor(() => p.healthy, { what: 'connected' });
        out.push({ p, client: new lib.WeChatClient({ apiBase: base, appId: APPID, secret: SECRET, mode, store: p.tokens(), lock: p.locks(APPID), retry: { baseMs: 10 } }) });
      }
      return out;
    }

    for (const mode of ['classic', 'stable']) {
      it(`${mode}: three instances, 60 concurrent sends → one token request; a 40001 on one → one new token for all`, async () => {
        const all = await instances(3, mode);
        try {
          for (let i = 0; i < 60; i++) sim.interact(APPID, `oTok${i}`, 'message');
          const answers = await Promise.all(Array.from({ length: 60 }, (_, i) => all[i % 3].client.sendCustom({ touser: `oTok${i}`, msgtype: 'text', text: { content: `hi ${i}` } })));
          assert.equal(answers.filter((a) => a.errcode === 0).length, 60);
          const requests = () => (mode === 'classic' ? sim.stats().tokenRequests : sim.stats().stableTokenRequests);
          assert.equal(requests(), 1);
          sim.revokeTokens(APPID);
          const again = await Promise.all(all.map((x, i) => x.client.sendCustom({ touser: `oTok${i}`, msgtype: 'text', text: { content: 'after' } })));
          assert.equal(again.filter((a) => a.errcode === 0).length, 3);
          assert.equal(requests(), 2, 'each instance fetched its own token after the 40001');
        } finally {
          for (const x of all) { x.client.close(); await x.p.close(); }
        }
      });
    }
  });
});
