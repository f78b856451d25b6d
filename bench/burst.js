'use strict';
// npm run bench:burst — a follow campaign: 1,000 follows in 10 s through the bundled flow in a real
// Node-RED process against the sandbox, C4C at 500 ms per request, and a create inside a $batch
// costing what it costs alone (the simulator's default: 500 ms; BENCH_C4C_PER_OPERATION sets another),
// c4c-config maxConcurrency 4, the template fallback configured (WECHAT_TEMPLATE_ID). Per mode:
// followers who received their CustomerID (push or template), within the 1-minute push window,
// C4C requests per follower, duplicates, lost followers, follow → CustomerID p50/p99.
// Modes, in the same run: batching off (c4c-config batchSize 1) and on (batchSize 20); BENCH_BATCHING=0
// runs only the off row, BENCH_BATCHING=only only the on row.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startDemo } = require('../scripts/demo');
const { newOpenId } = require('../dist/sandbox/wechat-server');
const { table, writeResults, round, pct } = require('./util');
const { sleep } = require('../test/helpers/wait');
const { freePort } = require('../test/helpers/ports');

const FOLLOWERS = Number(process.env.BENCH_FOLLOWERS || 1000);
const SECONDS = Number(process.env.BENCH_SECONDS || 10);
const C4C_LATENCY = Number(process.env.BENCH_C4C_LATENCY || 500);
// unset: the simulator's default, an operation inside a $batch costs what it costs alone (latencyMs)
const PER_OPERATION = process.env.BENCH_C4C_PER_OPERATION ? Number(process.env.BENCH_C4C_PER_OPERATION) : null;
const CONCURRENCY = Number(process.env.BENCH_C4C_CONCURRENCY || 4);
const SETTLE_MS = Number(process.env.BENCH_SETTLE_MS || 600000);
const MODES = [];
if (process.env.BENCH_BATCHING !== 'only') MODES.push({ name: 'batching off', batchSize: 1 });
if (process.env.BENCH_BATCHING !== '0') MODES.push({ name: 'batching on', batchSize: 20 });

async function run(mode) {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wechat-c4c-burst-'));
  const demo = await startDemo({
    nrPort: await freePort(), sandboxPort: await freePort(), userDir, mode: 'safe',
    env: { C4C_MAX_CONCURRENCY: String(CONCURRENCY), C4C_BATCH_SIZE: String(mode.batchSize) },
  });
  const { sandbox } = demo;
  sandbox.c4c.faults.latencyMs = C4C_LATENCY;
  sandbox.c4c.faults.perOperationMs = PER_OPERATION;
  const started = new Map();
  const received = new Map(); // openid → {at, channel}
  sandbox.wechatApi.onDelivered.add((m) => {
    if (!received.has(m.touser)) received.set(m.touser, { at: Date.now(), channel: m.api });
  });
  const sends = [];
  const t0 = Date.now();
  for (let i = 0; i < FOLLOWERS; i++) {
    const due = t0 + (i * SECONDS * 1000) / FOLLOWERS;
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait);
    const openid = newOpenId();
    started.set(openid, Date.now());
    sends.push(sandbox.act('follow', { openid }));
  }
  await Promise.all(sends);
  const deadLetters = () => (fs.existsSync(demo.deadLetterFile) ? fs.readFileSync(demo.deadLetterFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : []);
  const deadline = Date.now() + SETTLE_MS;
  while (Date.now() < deadline) {
    if (received.size + new Set(deadLetters().map((d) => d.openid)).size >= FOLLOWERS) break;
    await sleep(500);
  }
  const dead = new Set(deadLetters().map((d) => d.openid));
  const lost = [...started.keys()].filter((o) => !received.has(o) && !dead.has(o));
  const byName = new Map();
  for (const c of sandbox.c4c.customers) byName.set(c.LastName, (byName.get(c.LastName) || 0) + 1);
  const duplicated = [...byName.values()].filter((n) => n > 1).length;
  const ms = [...received.entries()].map(([o, r]) => r.at - started.get(o));
  const inWindow = [...received.values()].filter((r) => r.channel === 'custom').length;
  const viaTemplate = [...received.values()].filter((r) => r.channel !== 'custom').length;
  const c4c = sandbox.c4c.stats();
  await demo.stop();
  const pc = (n) => `${round((100 * n) / FOLLOWERS, 1)} %`;
  return {
    mode: mode.name,
    'CustomerID received': pc(received.size),
    'in push window': pc(inWindow),
    'via template': viaTemplate,
    'C4C req/follower': round(c4c.requests / FOLLOWERS, 2),
    '$batch': c4c.batches,
    duplicates: duplicated,
    lost: lost.length,
    'dead letters': dead.size,
    'p50 ms': pct(ms, 50),
    'p99 ms': pct(ms, 99),
  };
}

async function main() {
  const rows = [];
  for (const mode of MODES) rows.push(await run(mode));
  console.log(`bench:burst — ${FOLLOWERS} follows in ${SECONDS} s, C4C ${C4C_LATENCY} ms per request + ${PER_OPERATION ?? C4C_LATENCY} ms per batched operation, maxConcurrency ${CONCURRENCY}, template fallback on`);
  console.log('targets: CustomerID received 100 %, in push window ≥ 95 % with batching, C4C req/follower ≤ 0.3 with batching, 0 duplicates, 0 lost');
  table(rows, Object.keys(rows[0]));
  writeResults('burst', { rows, settings: { followers: FOLLOWERS, seconds: SECONDS, c4cLatencyMs: C4C_LATENCY, perOperationMs: PER_OPERATION ?? C4C_LATENCY, maxConcurrency: CONCURRENCY } });
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
