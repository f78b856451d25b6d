'use strict';
// npm run bench:pipeline — 1,000 followers arriving in 10 s through the whole bundled flow in a
// real Node-RED process against the sandbox, C4C answering in 200 ms: webhook reply latency,
// follow-to-push latency, followers lost, customers duplicated, peak RSS of Node-RED.
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
const C4C_LATENCY = Number(process.env.BENCH_C4C_LATENCY || 200);
const CONCURRENCY = Number(process.env.BENCH_C4C_CONCURRENCY || 64);

function peakRssMiB(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? round(Number(m[1]) / 1024, 1) : NaN;
  } catch {
    return NaN;
  }
}

async function main() {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wechat-c4c-bench-'));
  const demo = await startDemo({
    nrPort: await freePort(), sandboxPort: await freePort(), userDir, mode: 'safe',
    env: { C4C_MAX_CONCURRENCY: String(CONCURRENCY) },
  });
  const { sandbox } = demo;
  sandbox.c4c.faults.latencyMs = C4C_LATENCY;
  const started = new Map();
  const pushedAt = new Map();
  sandbox.wechatApi.onDelivered.add((m) => {
    if (!pushedAt.has(m.touser)) pushedAt.set(m.touser, Date.now());
  });
  const replyMs = [];
  const failedReplies = [];
  const sends = [];
  const t0 = Date.now();
  for (let i = 0; i < FOLLOWERS; i++) {
    const due = t0 + (i * SECONDS * 1000) / FOLLOWERS;
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait);
    const openid = newOpenId();
    started.set(openid, Date.now());
    sends.push(sandbox.act('follow', { openid }).then((report) => {
      if (report.failed || !report.ok) failedReplies.push(report);
      else replyMs.push(report.tries[0].ms);
    }));
  }
  await Promise.all(sends);
  const arrivalSeconds = (Date.now() - t0) / 1000;
  // Wait for every push or dead letter (or give up after 3 minutes).
  const deadline = Date.now() + 180000;
  const deadLetters = () => (fs.existsSync(demo.deadLetterFile) ? fs.readFileSync(demo.deadLetterFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : []);
  while (Date.now() < deadline) {
    const settled = pushedAt.size + new Set(deadLetters().map((d) => d.openid)).size;
    if (settled >= FOLLOWERS) break;
    await sleep(250);
  }
  const dead = new Set(deadLetters().map((d) => d.openid));
  const lost = [...started.keys()].filter((o) => !pushedAt.has(o) && !dead.has(o));
  const byName = new Map();
  for (const c of sandbox.c4c.customers) byName.set(c.LastName, (byName.get(c.LastName) || 0) + 1);
  const duplicated = [...byName.values()].filter((n) => n > 1).length;
  const pushMs = [...pushedAt.entries()].map(([o, at]) => at - started.get(o));
  const rss = peakRssMiB(demo.nr.child.pid);
  const c4cStats = sandbox.c4c.stats();
  await demo.stop();

  const rows = [
    { metric: 'followers sent', value: FOLLOWERS, target: `${FOLLOWERS} in ${SECONDS} s (sent in ${round(arrivalSeconds, 1)} s)` },
    { metric: 'webhook reply p50 (ms)', value: pct(replyMs, 50), target: '' },
    { metric: 'webhook reply p99 (ms)', value: pct(replyMs, 99), target: '< 100' },
    { metric: 'webhook reply max (ms)', value: Math.max(...replyMs), target: '< 5000' },
    { metric: 'replies failed or invalid', value: failedReplies.length, target: '0' },
    { metric: 'follow → push p50 (ms)', value: pct(pushMs, 50), target: '' },
    { metric: 'follow → push p99 (ms)', value: pct(pushMs, 99), target: '< 60000 (follow window)' },
    { metric: 'pushes delivered', value: pushedAt.size, target: String(FOLLOWERS) },
    { metric: 'dead letters', value: dead.size, target: '0' },
    { metric: 'followers lost', value: lost.length, target: '0' },
    { metric: 'customers duplicated', value: duplicated, target: '0' },
    { metric: 'C4C requests / follower', value: round(c4cStats.requests / FOLLOWERS, 2), target: '<= 2' },
    { metric: 'C4C CSRF fetches', value: c4cStats.csrfFetches, target: '1' },
    { metric: 'Node-RED peak RSS (MiB)', value: rss, target: '' },
  ];
  console.log(`bench:pipeline — ${FOLLOWERS} followers in ${SECONDS} s, safe mode, C4C ${C4C_LATENCY} ms per request, c4c-config maxConcurrency ${CONCURRENCY}`);
  table(rows, ['metric', 'value', 'target']);
  writeResults('pipeline', { rows, settings: { followers: FOLLOWERS, seconds: SECONDS, c4cLatencyMs: C4C_LATENCY, maxConcurrency: CONCURRENCY } });
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
