'use strict';
// npm run bench:events — C4C change events: 1,000 events in 10 s for 1,000 followers
// through the bundled flow in a real Node-RED process against the sandbox, C4C at 500 ms per
// request, c4c-config maxConcurrency 4 (batchSize 20, the default: read-backs waiting for a slot are
// combined). Each event is an IndividualCustomer Updated (Event Notification with the enhanced
// payload) for one follower's customer; BENCH_REPEAT (default 0.1) of them are delivered a second
// time, as C4C may. Measured: the event's answer (POST → 202) p50/p99, event → push p50/p99, C4C
// requests per event, lost (no push) and duplicated (more than one push) followers.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { randomBytes } = require('node:crypto');
const { startDemo } = require('../scripts/demo');
const { newOpenId } = require('../dist/sandbox/wechat-server');
const { table, writeResults, round, pct } = require('./util');
const { sleep } = require('../test/helpers/wait');
const { freePort } = require('../test/helpers/ports');

const EVENTS = Number(process.env.BENCH_EVENTS || 1000);
const SECONDS = Number(process.env.BENCH_SECONDS || 10);
const C4C_LATENCY = Number(process.env.BENCH_C4C_LATENCY || 500);
const CONCURRENCY = Number(process.env.BENCH_C4C_CONCURRENCY || 4);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 0.1);
const SETTLE_MS = Number(process.env.BENCH_SETTLE_MS || 300000);

async function main() {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wechat-c4c-events-'));
  const demo = await startDemo({
    nrPort: await freePort(), sandboxPort: await freePort(), userDir, mode: 'safe',
    env: { C4C_MAX_CONCURRENCY: String(CONCURRENCY) },
  });
  const { sandbox } = demo;
  const sim = sandbox.c4c;
  // 1,000 followers, each with the customer the follow path made (FirstName Wechat, LastName =
  // OpenID) and an open customer-service window (they wrote to the account).
  const followers = [];
  for (let i = 0; i < EVENTS; i++) {
    const openid = newOpenId();
    const c = { ObjectID: randomBytes(16).toString('hex').toUpperCase(), CustomerID: String(2000000 + i), FirstName: 'Wechat', LastName: openid, RoleCode: 'CRM000', LifeCycleStatusCode: '2', CreationOn: `/Date(${Date.now()})/`, ChangedOn: `/Date(${Date.now()})/`, ETag: `/Date(${Date.now()})/` };
    sim.customers.push(c);
    sandbox.wechatApi.interact(sandbox.opts.appId, openid, 'message');
    followers.push({ openid, objectId: c.ObjectID });
  }
  sim.faults.latencyMs = C4C_LATENCY;
  const requestsBefore = sim.stats().requests;
  const received = new Map(); // openid → [at]
  sandbox.wechatApi.onDelivered.add((m) => {
    const list = received.get(m.touser) || [];
    list.push(Date.now());
    received.set(m.touser, list);
  });
  const url = `${demo.nr.url}/c4c/events`;
  const auth = `Basic ${Buffer.from(`${sandbox.opts.eventUser}:${demo.secrets.eventPassword}`).toString('base64')}`;
  const answerMs = [];
  const statuses = {};
  const started = new Map();
  const post = async (body) => {
    const t = Date.now();
    try {
      const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: auth }, body });
      await res.arrayBuffer();
      statuses[res.status] = (statuses[res.status] || 0) + 1;
    } catch (err) {
      statuses[err.code || 'error'] = (statuses[err.code || 'error'] || 0) + 1;
    }
    answerMs.push(Date.now() - t);
  };
  const sends = [];
  const repeats = [];
  const t0 = Date.now();
  for (let i = 0; i < EVENTS; i++) {
    const due = t0 + (i * SECONDS * 1000) / EVENTS;
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait);
    const f = followers[i];
    const body = JSON.stringify(sim.events.body(f.objectId, 'Updated', [{ field: 'Email', old: '', new: `f${i}@example.com` }], 'event'));
    started.set(f.openid, Date.now());
    sends.push(post(body));
    if (REPEAT > 0 && i % Math.max(1, Math.round(1 / REPEAT)) === 0) repeats.push(body);
  }
  // C4C's second deliveries of some events, after the first ones
  for (const body of repeats) sends.push(post(body));
  await Promise.all(sends);
  const deadline = Date.now() + SETTLE_MS;
  while (Date.now() < deadline && received.size < EVENTS) await sleep(500);
  await sleep(3000); // room for a duplicate to show itself
  const lost = followers.filter((f) => !received.has(f.openid)).length;
  const duplicated = [...received.values()].filter((l) => l.length > 1).length;
  const pushMs = followers.filter((f) => received.has(f.openid)).map((f) => received.get(f.openid)[0] - started.get(f.openid));
  const c4c = sim.stats();
  await demo.stop();
  const rows = [{
    events: EVENTS,
    're-deliveries': repeats.length,
    answers: Object.entries(statuses).map(([k, v]) => `${v}×${k}`).join(' '),
    'answer p50 ms': pct(answerMs, 50),
    'answer p99 ms': pct(answerMs, 99),
    'push p50 ms': pct(pushMs, 50),
    'push p99 ms': pct(pushMs, 99),
    'C4C req/event': round((c4c.requests - requestsBefore) / EVENTS, 2),
    lost,
    duplicated,
  }];
  console.log(`bench:events — ${EVENTS} events in ${SECONDS} s for ${EVENTS} followers (+${repeats.length} re-deliveries), C4C ${C4C_LATENCY} ms per request, maxConcurrency ${CONCURRENCY}`);
  console.log('targets: answer p99 < 100 ms, C4C req/event ≤ 1, 0 lost, 0 duplicated');
  table(rows, Object.keys(rows[0]));
  writeResults('events', { rows, settings: { events: EVENTS, seconds: SECONDS, c4cLatencyMs: C4C_LATENCY, maxConcurrency: CONCURRENCY, repeat: REPEAT } });
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
