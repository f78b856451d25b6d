'use strict';
// npm run bench:conversation — issue 22: 200 followers × 5 messages in 10 s through the bundled
// flow (real Node-RED, the sandbox), C4C answering in 500 ms, c4c-config maxConcurrency 4: every
// message stored exactly once and in order per follower, C4C requests per message, message →
// activity p50/p99; then agent replies posted by the C4C simulator as C4C does, reply → WeChat
// send p99 with C4C's read-backs at 500 ms. Batching (C4C_BATCH_SIZE) on (20) and off (1).
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startDemo } = require('../scripts/demo');
const { newOpenId } = require('../dist/sandbox/wechat-server');
const { table, writeResults, round, pct } = require('./util');
const { sleep } = require('../test/helpers/wait');
const { freePort } = require('../test/helpers/ports');

const FOLLOWERS = Number(process.env.BENCH_FOLLOWERS || 200);
const MESSAGES = Number(process.env.BENCH_MESSAGES || 5);
const SECONDS = Number(process.env.BENCH_SECONDS || 10);
const C4C_LATENCY = Number(process.env.BENCH_C4C_LATENCY || 500);
const CONCURRENCY = Number(process.env.BENCH_C4C_CONCURRENCY || 4);
const REPLIES = Number(process.env.BENCH_REPLIES || 50);
const BATCH = (process.env.BENCH_BATCH_SIZES || '20,1').split(',').map(Number);

async function run(batchSize) {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wechat-c4c-bench-conv-'));
  const demo = await startDemo({ nrPort: await freePort(), sandboxPort: await freePort(), userDir, mode: 'safe', env: { C4C_MAX_CONCURRENCY: String(CONCURRENCY), C4C_BATCH_SIZE: String(batchSize) } });
  const { sandbox } = demo;
  const social = sandbox.c4c.social;
  sandbox.c4c.faults.latencyMs = C4C_LATENCY;
  const sentAt = new Map();
  const storedAt = new Map();
  social.onChange.add(({ type, row }) => { if (type === 'activity' && row.InitiatorCode === '2' && !storedAt.has(row.Text)) storedAt.set(row.Text, Date.now()); });
  const followers = Array.from({ length: FOLLOWERS }, () => newOpenId());
  const before = sandbox.c4c.stats().requests;
  const total = FOLLOWERS * MESSAGES;
  const failed = [];
  const sends = [];
  const t0 = Date.now();
  for (let i = 0; i < total; i++) {
    // round by round: each follower's messages SECONDS / MESSAGES apart
    const f = i % FOLLOWERS;
    const m = Math.floor(i / FOLLOWERS);
    const wait = t0 + (i * SECONDS * 1000) / total - Date.now();
    if (wait > 0) await sleep(wait);
    const text = `${followers[f]} m${m}`;
    sentAt.set(text, Date.now());
    sends.push(sandbox.act('text', { openid: followers[f], content: text }).then((r) => { if (r.failed || r.body !== 'success') failed.push(r); }));
  }
  await Promise.all(sends);
  const sendSeconds = round((Date.now() - t0) / 1000, 1);
  const deadline = Date.now() + 15 * 60 * 1000;
  while (storedAt.size < total && Date.now() < deadline) await sleep(250);
  const requests = sandbox.c4c.stats().requests - before;
  const acts = social.activities.filter((a) => a.InitiatorCode === '2');
  const counts = new Map();
  for (const a of acts) counts.set(a.Text, (counts.get(a.Text) || 0) + 1);
  const duplicated = [...counts.values()].filter((n) => n > 1).length;
  const lost = [...sentAt.keys()].filter((t) => !counts.has(t)).length;
  const outOfOrder = followers.filter((o) => {
    const mine = acts.filter((a) => a.Text.startsWith(`${o} `)).map((a) => a.Text);
    return mine.some((t, i) => t !== `${o} m${i}`);
  }).length;
  const profilesDuplicated = followers.filter((o) => social.profiles.filter((p) => p.info.some((i) => i.SocialMediaUserAccountID === o)).length !== 1).length;
  const storeMs = [...storedAt.entries()].map(([t, at]) => at - sentAt.get(t));

  // Agent replies, spread over 5 s; C4C still at 500 ms per request.
  const replyAt = new Map();
  const deliveredAt = new Map();
  sandbox.wechatApi.onDelivered.add((msg) => { if (!deliveredAt.has(msg.touser)) deliveredAt.set(msg.touser, Date.now()); });
  const replyRequestsBefore = sandbox.c4c.stats().requests;
  const mashupMs = [];
  const replied = followers.slice(0, REPLIES);
  const posts = [];
  for (let i = 0; i < replied.length; i++) {
    await sleep(5000 / replied.length);
    const ticket = social.conversations().find((t) => t.follower === replied[i]);
    if (!ticket) continue;
    replyAt.set(replied[i], Date.now());
    const started = Date.now();
    posts.push(social.agentReply({ ticketId: ticket.ID, text: `reply ${i}` }).then(() => mashupMs.push(Date.now() - started)));
  }
  await Promise.all(posts);
  const replyDeadline = Date.now() + 120000;
  while (deliveredAt.size < replyAt.size && Date.now() < replyDeadline) await sleep(100);
  const replyMs = [...deliveredAt.entries()].filter(([o]) => replyAt.has(o)).map(([o, at]) => at - replyAt.get(o));
  const replyRequests = sandbox.c4c.stats().requests - replyRequestsBefore;
  await demo.stop();
  return [
    { metric: 'messages sent', value: total, target: `${FOLLOWERS} × ${MESSAGES} in ${SECONDS} s (sent and answered in ${sendSeconds} s)` },
    { metric: 'webhook answers not success', value: failed.length, target: '0' },
    { metric: 'activities lost', value: lost, target: '0' },
    { metric: 'activities duplicated', value: duplicated, target: '0' },
    { metric: 'followers out of order', value: outOfOrder, target: '0' },
    { metric: 'followers without exactly one profile', value: profilesDuplicated, target: '0' },
    { metric: 'C4C requests / message', value: round(requests / total, 2), target: batchSize > 1 ? '< 1.5' : '<= 1.5' },
    { metric: 'message → activity p50 (ms)', value: pct(storeMs, 50), target: '' },
    { metric: 'message → activity p99 (ms)', value: pct(storeMs, 99), target: '' },
    { metric: 'agent replies → WeChat sends', value: `${replyMs.length} / ${replyAt.size}`, target: 'all' },
    { metric: 'mashup call answered p99 (ms)', value: pct(mashupMs, 99), target: '' },
    { metric: 'agent reply → WeChat send p99 (ms)', value: pct(replyMs, 99), target: '' },
    { metric: 'C4C read-backs / reply', value: round(replyRequests / Math.max(1, replyAt.size), 2), target: '' },
  ].map((r) => ({ batchSize, ...r }));
}

async function main() {
  const rows = [];
  for (const b of BATCH) rows.push(...(await run(b)));
  console.log(`bench:conversation — ${FOLLOWERS} followers × ${MESSAGES} messages in ${SECONDS} s, C4C ${C4C_LATENCY} ms per request, maxConcurrency ${CONCURRENCY}, batchSize ${BATCH.join(' / ')}`);
  table(rows, ['batchSize', 'metric', 'value', 'target']);
  writeResults('conversation', { rows, settings: { followers: FOLLOWERS, messages: MESSAGES, seconds: SECONDS, c4cLatencyMs: C4C_LATENCY, maxConcurrency: CONCURRENCY, batchSizes: BATCH, replies: REPLIES } });
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
