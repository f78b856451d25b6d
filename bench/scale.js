'use strict';
// npm run bench:scale — the bundled flow on 1, 2 and 3 real Node-RED processes behind Debian's
// nginx on one Redis, and on 1 process without Redis (memory, the `npm start` default), against
// the sandbox. Two phases per configuration: paced (BENCH_PACED follows at BENCH_RATE/s) for the
// webhook reply latency (p50/p99, as the sandbox's WeChat server measures it through nginx) and
// follow → push latency and Redis commands per follower; saturated (BENCH_REPEAT runs of BENCH_FOLLOWERS follows,
// BENCH_CONCURRENCY in flight) for follows/s end to end (first follow sent → last push received at
// the sandbox's WeChat API). Redis commands are counted in the paced phase only (MONITOR slows
// Redis down), with `redis-cli MONITOR` on a second connection. Commands a Lua script runs inside
// Redis are not round trips and are left out; each pipelined command counts as one, so the count
// is an upper bound on round trips; background polling (blocking reads, claims) is included.
//
// Every process — nginx, Redis, up to 3 Node-REDs, the sandbox (WeChat + C4C simulators) and this
// load generator — shares the machine's cores. On a 2-core machine more instances cannot mean more
// CPU: the figures show the coordination cost of Redis and of several instances, not how a cluster
// of separate machines scales.
const { spawn } = require('node:child_process');
const os = require('node:os');
const { startCluster } = require('../test/helpers/cluster');
const { sleep } = require('../test/helpers/wait');
const { nginxVersion } = require('../test/helpers/nginx');
const { programPath } = require('../test/helpers/programs');
const { newOpenId } = require('../dist/sandbox/wechat-server');
const { table, writeResults, round, pct } = require('./util');

const FOLLOWERS = Number(process.env.BENCH_FOLLOWERS || 300);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY || 16);
const PACED = Number(process.env.BENCH_PACED || 200);
const RATE = Number(process.env.BENCH_RATE || 20);
const C4C_LATENCY = Number(process.env.BENCH_C4C_LATENCY || 100);
const REPEAT = Number(process.env.BENCH_REPEAT || 3);
const WARMUP = 10;
const CONFIGS = (process.env.BENCH_CONFIGS || 'memory:1,redis:1,redis:2,redis:3').split(',').map((s) => {
  const [store, n] = s.split(':');
  return { store, instances: Number(n) };
});

/** `redis-cli MONITOR` on its own connection: counts the commands clients send (not those run by Lua). */
function monitor(port) {
  const proc = spawn(programPath('redis-cli'), ['-p', String(port), 'monitor'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const m = { on: false, total: 0, byCommand: {}, proc };
  let rest = '';
  proc.stdout.on('data', (chunk) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop();
    if (!m.on) return;
    for (const line of lines) {
      const x = /^\d+\.\d+ \[\d+ ([^\]]+)\] "([^"]+)"/.exec(line);
      if (!x || x[1] === 'lua') continue;
      const cmd = x[2].toUpperCase();
      m.total++;
      m.byCommand[cmd] = (m.byCommand[cmd] || 0) + 1;
    }
  });
  m.start = () => { m.on = true; m.total = 0; m.byCommand = {}; };
  m.stop = () => { m.on = false; return { total: m.total, byCommand: { ...m.byCommand } }; };
  m.close = () => proc.kill();
  return m;
}

async function runConfig({ store, instances }) {
  const label = `${store}, ${instances} instance${instances > 1 ? 's' : ''}`;
  process.stdout.write(`${label}: starting… `);
  const c = await startCluster({ instances, redis: store === 'redis', env: { C4C_MAX_CONCURRENCY: '64' } });
  try {
    c.sandbox.c4c.faults.latencyMs = C4C_LATENCY;
    const pushedAt = new Map();
    c.sandbox.wechatApi.onDelivered.add((m) => { if (!pushedAt.has(m.touser)) pushedAt.set(m.touser, Date.now()); });
    // warm up (tokens, C4C session and CSRF token, JIT) — not measured
    const warm = Array.from({ length: WARMUP }, () => newOpenId());
    await Promise.all(warm.map((openid) => c.sandbox.act('follow', { openid })));
    const waitPushed = async (ids, ms) => {
      const until = Date.now() + ms;
      while (Date.now() < until && !ids.every((o) => pushedAt.has(o) || dead().has(o))) await sleep(100);
    };
    const dead = () => new Set(c.deadLetters().map((d) => d.openid));
    await waitPushed(warm, 30000);
    const mon = c.redis ? monitor(c.redis.port) : undefined;
    let idle;
    if (mon) {
      await sleep(500);
      mon.start();
      await sleep(3000);
      idle = mon.stop();
    }
    // 1. paced: followers arriving at a steady rate below saturation → webhook and follow→push latency
    process.stdout.write('paced… ');
    const paced = Array.from({ length: PACED }, () => newOpenId());
    const sentAt = new Map();
    const replyMs = [];
    let unanswered = 0;
    const sends = [];
    mon?.start();
    const p0 = Date.now();
    for (let i = 0; i < paced.length; i++) {
      const due = p0 + (i * 1000) / RATE;
      if (due > Date.now()) await sleep(due - Date.now());
      const openid = paced[i];
      sentAt.set(openid, Date.now());
      sends.push(c.sandbox.act('follow', { openid }).then((r) => {
        if (r.failed || !r.ok) unanswered++;
        else replyMs.push(r.tries.reduce((a, t) => a + t.ms, 0));
      }));
    }
    await Promise.all(sends);
    await waitPushed(paced, 180000);
    const cmds = mon?.stop();
    mon?.close();
    // 2. saturated: FOLLOWERS with CONCURRENCY follows in flight → follows/s end to end, REPEAT
    // times (the machine is shared: the median and the best of the runs are reported)
    const runs = [];
    const openids = [];
    for (let rep = 0; rep < REPEAT; rep++) {
      process.stdout.write(`saturated ${rep + 1}/${REPEAT}… `);
      const ids = Array.from({ length: FOLLOWERS }, () => newOpenId());
      openids.push(...ids);
      let next = 0;
      const t0 = Date.now();
      await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
        while (next < ids.length) {
          const openid = ids[next++];
          sentAt.set(openid, Date.now());
          const r = await c.sandbox.act('follow', { openid });
          if (r.failed || !r.ok) unanswered++;
        }
      }));
      await waitPushed(ids, 180000);
      const tEnd = Math.max(...ids.map((o) => pushedAt.get(o) || 0));
      const pushed = ids.filter((o) => pushedAt.has(o)).length;
      runs.push({ followsPerSecond: round(pushed / ((tEnd - t0) / 1000), 1), notPushed: FOLLOWERS - pushed });
    }
    const rates = runs.map((r) => r.followsPerSecond).sort((a, b) => a - b);
    const median = rates[Math.floor(rates.length / 2)];
    const best = rates[rates.length - 1];
    const notPushedSat = runs.reduce((a, r) => a + r.notPushed, 0);
    const d = dead();
    const byName = new Map();
    for (const cu of c.sandbox.c4c.customers) byName.set(cu.LastName, (byName.get(cu.LastName) || 0) + 1);
    const perUpstream = {};
    for (const line of c.nginx.accessLog()) {
      const m = /upstream=([^ ,]+)/.exec(line);
      if (m) perUpstream[m[1]] = (perUpstream[m[1]] || 0) + 1;
    }
    const e2e = paced.filter((o) => pushedAt.has(o)).map((o) => pushedAt.get(o) - sentAt.get(o));
    const all = [...paced, ...openids];
    const row = {
      config: label,
      store,
      instances,
      followers: FOLLOWERS,
      'follows/s median (best)': `${median} (${best})${notPushedSat ? ` — ${notPushedSat} not pushed` : ''}`,
      followsPerSecond: median,
      followsPerSecondBest: best,
      followsPerSecondRuns: runs.map((r) => r.followsPerSecond),
      'webhook p50 ms': pct(replyMs, 50),
      'webhook p99 ms': pct(replyMs, 99),
      'follow→push p50 ms': pct(e2e, 50),
      'follow→push p99 ms': pct(e2e, 99),
      'redis cmds/follower': cmds ? round(cmds.total / PACED, 1) : '–',
      redisCommandsPerFollower: cmds ? round(cmds.total / PACED, 2) : null,
      redisCommandsIdlePerSecond: idle ? round(idle.total / 3, 1) : null,
      redisByCommand: cmds ? cmds.byCommand : null,
      unanswered,
      deadLettered: all.filter((o) => d.has(o)).length,
      notPushed: all.filter((o) => !pushedAt.has(o)).length,
      duplicateCustomers: all.filter((o) => (byName.get(o) || 0) > 1).length,
      webhookRequestsPerUpstream: perUpstream,
    };
    console.log('done');
    return row;
  } finally {
    await c.stop();
  }
}

async function main() {
  const rows = [];
  for (const cfg of CONFIGS) rows.push(await runConfig(cfg));
  console.log(`\nbench:scale — the bundled flow, safe mode, nginx round robin in front, C4C answering in ${C4C_LATENCY} ms.`);
  console.log(`latency and Redis columns: ${PACED} follows at ${RATE}/s (Redis commands counted with MONITOR, background polling included);`);
  console.log(`follows/s: ${FOLLOWERS} follows with ${CONCURRENCY} in flight (saturation), first follow sent → last push received, no MONITOR; ${REPEAT} runs, median (best).`);
  console.log(`load average when done: ${os.loadavg().map((l) => round(l, 2)).join(', ')} (anything above the load of this benchmark is other work on the machine)`);
  console.log(`machine: ${os.cpus().length} cores (${os.cpus()[0]?.model}), Node ${process.version}, ${nginxVersion()}`);
  console.log('Every process shares these cores: on this machine more instances do not add CPU — read the rows as the cost of Redis and of coordination.\n');
  table(rows, ['config', 'follows/s median (best)', 'webhook p50 ms', 'webhook p99 ms', 'follow→push p50 ms', 'follow→push p99 ms', 'redis cmds/follower', 'unanswered', 'deadLettered', 'duplicateCustomers']);
  for (const r of rows) {
    if (r.redisByCommand) {
      const top = Object.entries(r.redisByCommand).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${round(v / PACED, 2)}`).join(', ');
      console.log(`${r.config}: Redis commands per follower: ${top}; idle: ${r.redisCommandsIdlePerSecond}/s`);
    }
  }
  console.log('target: ≤ 8 Redis round trips per follower');
  writeResults('scale', {
    params: { pacedFollowers: PACED, pacedRate: RATE, followers: FOLLOWERS, repeat: REPEAT, concurrency: CONCURRENCY, c4cLatencyMs: C4C_LATENCY, nginx: nginxVersion() },
    note: 'All processes (nginx, Redis, Node-RED instances, sandbox, load generator) share one machine; more instances do not add cores here.',
    rows: rows.map(({ 'follows/s median (best)': _a, 'redis cmds/follower': _b, ...r }) => r),
  });
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
