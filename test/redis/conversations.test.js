'use strict';
/**
 * Issue 22 with a shared store: two "instances" in one Node-RED runtime, each with its own
 * wechat-c4c-redis node (own connections, same prefix) and c4c-config, behave like two Node-RED
 * processes: one profile per follower across them, one WeChat send per sma_id across them, and
 * work a dead instance took is finished by a living one. Real redis-server, the C4C simulator.
 */
const assert = require('node:assert/strict');
const lib = require('../../dist/lib');
const { C4CSimulator } = require('../../dist/sandbox/c4c');
const { helper, ours } = require('../helpers/node-red');
const { startRedis } = require('../helpers/redis');
const { needPrograms } = require('../helpers/programs');
const { sleep, waitFor } = require('../helpers/wait');
const { useSimulator } = require('../helpers/sims');

const USER = 'SANDBOX_USER';
const PASSWORD = 'sandbox-password-42';
const MASHUP = { username: 'C4C_MASHUP', password: 'mashup-pass-7' };
const NOW = Math.floor(Date.now() / 1000);
let seq = 9123456789012345678n; // above 2^53: only a string keeps it

describe('conversations on one Redis (two instances, real redis-server)', function () {
  this.timeout(40000);
  let redis;
  let prefix;
  let n = 0;
  let sim;
  let base;
  before(async function () {
    needPrograms(this, 'redis-server');
    redis = await startRedis();
  });
  after(async () => { await redis?.stop(); });
  useSimulator(() => new C4CSimulator({ users: { [USER]: PASSWORD } }), (s, b) => { sim = s; base = b; });
  beforeEach(() => { prefix = `conv${++n}:`; });
  afterEach(async () => { await helper.unload(); });

  const NODES = [ours('wechat-c4c-redis'), ours('c4c-config'), ours('c4c-social-message'), ours('c4c-agent-reply')];
  function instance(i) {
    return [
      { id: `rs${i}`, type: 'wechat-c4c-redis', url: redis.url, prefix },
      { id: `sys${i}`, type: 'c4c-config', baseUrl: base, maxConcurrency: 4, timeout: 5000, retries: 2, backoffBase: 20, store: `rs${i}` },
      { id: `social${i}`, z: 'f1', type: 'c4c-social-message', system: `sys${i}`, channelCode: '905', providerId: 'WECHAT_SANDBOX', threadWindow: 24, attachMedia: false, claimAfter: 1, wires: [['stored']] },
      { id: `reply${i}`, z: 'f1', type: 'c4c-agent-reply', system: `sys${i}`, channelCode: '905', dedupeWindow: 600, wires: [['replied']] },
    ];
  }
  async function load() {
    const flow = [{ id: 'f1', type: 'tab' }, ...instance(1), ...instance(2),
      { id: 'stored', z: 'f1', type: 'helper', wires: [] }, { id: 'replied', z: 'f1', type: 'helper', wires: [] }];
    const creds = { sys1: { username: USER, password: PASSWORD }, sys2: { username: USER, password: PASSWORD }, reply1: MASHUP, reply2: MASHUP };
    await helper.load(NODES, flow, creds);
    await waitFor(() => helper.getNode('rs1').store.healthy && helper.getNode('rs2').store.healthy, { what: 'connected' });
    const got = { stored: [], replied: [] };
    helper.getNode('stored').on('input', (m) => got.stored.push(m));
    helper.getNode('replied').on('input', (m) => got.replied.push(m));
    return got;
  }
  function message(openid, content) {
    seq += 1n;
    return { payload: { ToUserName: 'gh_x', FromUserName: openid, CreateTime: String(NOW), MsgType: 'text', Content: content, MsgId: seq.toString() }, topic: 'text', wechat: { openid } };
  }

  it('two instances racing on a follower\'s first two messages: one profile, both activities on one ticket, the 64-bit MsgId exact', async () => {
    sim.faults.latencyMs = 30;
    const got = await load();
    const a = message('oRaceRedis', 'first');
    const b = message('oRaceRedis', 'second');
    helper.getNode('social1').receive(a);
    helper.getNode('social2').receive(b);
    await waitFor(() => got.stored.length === 2, { what: 'both stored' });
    assert.equal(sim.social.profiles.length, 1);
    assert.equal(sim.social.activities.length, 2);
    assert.equal(sim.social.tickets.length, 1);
    assert.deepEqual(sim.social.activities.map((x) => x.SocialMediaMessageID).sort(), [a.payload.MsgId, b.payload.MsgId].sort());
  });

  it('two instances consuming one work queue: each follower\'s 5 messages are created in the order they were sent (one instance slower than the other)', async () => {
    sim.faults.latencyMs = 10;
    const instances = [0, 1].map(() => {
      const store = new lib.RedisStoreProvider({ url: redis.url, prefix, commandTimeoutMs: 2000, closeTimeoutMs: 2000 });
      const client = new lib.C4CClient({ baseUrl: base, username: USER, password: PASSWORD, retry: { retries: 2, baseMs: 10 }, timeoutMs: 5000 });
      const social = new lib.SocialService(client, { locks: store.locks('c4c:tenant'), cache: store.kv('c4c:tenant'), settleMs: 400 });
      return { store, client, social, queue: store.queue('c4c-social-message:social', { claimAfterMs: 5000 }) };
    });
    const stored = [];
    const reading = new Set();
    instances.forEach(({ social, queue }, n) => queue.consume(async ({ data }) => {
      if (data.warmUp) { reading.add(n); return; }
      if (n === 0) await sleep(80); // the media fetch, say: this instance is slower
      await social.storeMessage({ message: data.payload, openid: data.payload.FromUserName, channel: { channelCode: '905', providerId: 'WECHAT_SANDBOX' }, threadWindowMs: 24 * 3600 * 1000 });
      stored.push(data.payload.Content);
    }));
    try {
      // both instances reading the stream before the messages come
      await waitFor(async () => {
        await instances[0].queue.add({ warmUp: true });
        return reading.size === 2;
      }, { what: 'both instances reading' });
      const followers = ['oOrderA', 'oOrderB', 'oOrderC'];
      const sent = new Map(followers.map((o) => [o, []]));
      for (let i = 0; i < 5; i++) {
        for (const [k, o] of followers.entries()) {
          const m = message(o, `${o} m${i}`);
          sent.get(o).push(m.payload.Content);
          // what c4c-social-message adds: the follower (channel and OpenID) is the order key
          await instances[(i + k) % 2].queue.add({ uid: `u-${o}-${i}`, payload: m.payload, topic: m.topic, wechat: m.wechat }, { orderKey: `905:${o}` });
        }
      }
      await waitFor(() => stored.length === 15, { what: 'all stored' });
      for (const o of followers) {
        assert.deepEqual(sim.social.activities.filter((a) => a.SocialMediaMessageAuthor === o).map((a) => a.Text), sent.get(o), `${o}'s messages in send order`);
      }
      assert.equal(sim.social.profiles.length, 3);
    } finally {
      for (const i of instances) {
        await i.queue.close();
        i.client.close();
        await i.store.close();
      }
    }
  });

  it('work a dead instance took and never finished is stored by a living one (msg.c4c.recovered), once', async () => {
    const dead = new lib.RedisStoreProvider({ url: redis.url, prefix, commandTimeoutMs: 2000, closeTimeoutMs: 100 });
    await waitFor(() => dead.healthy, { what: 'the doomed instance connected' });
    const q = dead.queue('c4c-social-message:social1', { claimAfterMs: 60000 });
    let taken;
    q.consume((item) => { taken = item; return new Promise(() => {}); });
    const m = message('oOrphanMsg', 'left behind');
    await q.add({ uid: 'u-1', msgid: 'm-1', payload: m.payload, topic: m.topic, wechat: m.wechat });
    await waitFor(() => taken, { what: 'the doomed instance took the work' });
    for (const c of [dead.client, ...dead.extraClients]) { try { c.destroy(); } catch { /* gone */ } }
    const got = await load();
    await waitFor(() => got.stored.length === 1, { what: 'the recovered output' });
    assert.equal(got.stored[0].c4c.recovered, true);
    assert.equal(sim.social.activities.length, 1);
    assert.equal(sim.social.activities[0].Text, 'left behind');
    await dead.close().catch(() => undefined);
  });

  it('a follower\'s messages a dead instance took (the first one running, the next ones waiting their turn) are stored by a living one in send order, before the follower\'s next message', async () => {
    const dead = new lib.RedisStoreProvider({ url: redis.url, prefix, commandTimeoutMs: 2000, closeTimeoutMs: 100 });
    await waitFor(() => dead.healthy, { what: 'the doomed instance connected' });
    const q = dead.queue('c4c-social-message:social1', { claimAfterMs: 60000 });
    const taken = [];
    q.consume((item) => { taken.push(item); return new Promise(() => {}); });
    const msgs = ['one', 'two', 'three', 'four'].map((c) => message('oOrphanOrder', c));
    for (const [i, m] of msgs.slice(0, 3).entries()) await q.add({ uid: `u-${i}`, msgid: `m-${i}`, payload: m.payload, topic: m.topic, wechat: m.wechat }, { orderKey: '905:oOrphanOrder' });
    await waitFor(() => taken.length === 1, { what: 'the doomed instance took the first' });
    for (const c of [dead.client, ...dead.extraClients]) { try { c.destroy(); } catch { /* gone */ } }
    const got = await load();
    helper.getNode('social1').receive(msgs[3]);
    await waitFor(() => got.stored.length === 4, { what: 'four stored', timeoutMs: 20000 });
    assert.deepEqual(sim.social.activities.map((a) => a.Text), ['one', 'two', 'three', 'four']);
    assert.equal(taken.length, 1, 'the dead instance ran only the head');
    await dead.close().catch(() => undefined);
  });

  it('the same sma_id posted to two instances is forwarded once', async () => {
    const got = await load();
    helper.getNode('social1').receive(message('oDedupe', 'q'));
    await waitFor(() => got.stored.length === 1, { what: 'stored' });
    const content = { original_id: sim.social.activities[0].SocialMediaMessageID, sma_id: '70001', service_req_no: sim.social.tickets[0].ID, author_name: 'A', author_email: '', sma_create_datetime: '', private_ind: 'FALSE', text: 'once' };
    const req = { headers: { authorization: `Basic ${Buffer.from(`${MASHUP.username}:${MASHUP.password}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' }, body: { content: JSON.stringify(content) } };
    helper.getNode('reply1').receive({ req, payload: req.body });
    helper.getNode('reply2').receive({ req, payload: req.body });
    await waitFor(() => got.replied.length >= 1, { what: 'the reply' });
    await sleep(500);
    assert.equal(got.replied.length, 1);
    assert.equal(got.replied[0].wechat.openid, 'oDedupe');
  });
});
