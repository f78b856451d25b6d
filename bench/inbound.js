'use strict';
// npm run bench:inbound — the inbound path, measured two ways:
//  1. lib/: verify + decrypt + parse + build reply (+ encrypt) per message, plaintext and safe
//     mode, next to the node-webot `wechat` middleware doing the same work in the same process.
//  2. A real Node-RED process: http in -> wechat-in -> wechat-reply -> http response next to a
//     bare http in -> http response flow, driven by autocannon.
// Targets: lib >= 2x the peer; webhook >= 0.80x bare (plaintext), >= 0.70x bare (safe mode).
const autocannon = require('autocannon');
const wechatMiddleware = require('wechat');
const lib = require('../dist/lib');
const W = require('../test/helpers/wechat');
const { startNodeRed } = require('../scripts/nr-process');
const { table, writeResults, round } = require('./util');

const N = Number(process.env.BENCH_MESSAGES || 20000);
const DURATION = Number(process.env.BENCH_SECONDS || 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS || 32);

function makeRequests(mode, count) {
  const out = [];
  for (let i = 0; i < count; i++) {
    const fields = i % 2 ? W.subscribe(`oBench${i}`) : W.text(`oBench${i}`, `你好 hello ${i}`, String(6000000000000000000n + BigInt(i)));
    out.push(mode === 'safe' ? W.safeRequest(fields) : W.plainRequest(fields));
  }
  return out;
}

// --- 1. lib vs node-webot/wechat ------------------------------------------------------------
function benchLib(mode, requests) {
  const account = new lib.WeChatAccount({ appId: W.ACCOUNT.appId, token: W.ACCOUNT.token, encodingAESKey: W.ACCOUNT.encodingAESKey });
  const start = process.hrtime.bigint();
  for (const r of requests) {
    const res = lib.handleInbound({ method: 'POST', query: r.query, body: r.body }, account.inbound);
    if (res.kind !== 'message') throw new Error(`lib rejected a valid message: ${res.reason}`);
    let xml = lib.buildReplyXml('text', { Content: 'welcome' }, { toUser: res.openid, fromUser: res.message.ToUserName, createTime: Math.floor(Date.now() / 1000) }).xml;
    if (res.encrypted) xml = lib.encryptReply(xml, { key: account.keyFor(res.keyIndex), appId: account.inbound.appId, token: account.inbound.token });
  }
  return Number(process.hrtime.bigint() - start) / 1e9;
}

async function benchPeer(mode, requests) {
  const mw = wechatMiddleware({ token: W.ACCOUNT.token, appid: W.ACCOUNT.appId, encodingAESKey: W.ACCOUNT.encodingAESKey, checkSignature: true }, (req, res) => res.reply('welcome'));
  const start = process.hrtime.bigint();
  for (const r of requests) {
    await new Promise((resolve, reject) => {
      const req = { method: 'POST', query: r.query, rawBody: r.body };
      const res = { writeHead() {}, end(body) { if (!body) reject(new Error('peer gave no reply')); else resolve(body); }, setHeader() {} };
      mw(req, res, reject);
    });
  }
  return Number(process.hrtime.bigint() - start) / 1e9;
}

// --- 2. Node-RED webhook vs bare Node-RED ----------------------------------------------------
function webhookFlow() {
  return [
    { id: 'tab', type: 'tab', label: 'bench' },
    { id: 'acc', type: 'wechat-config', appId: W.ACCOUNT.appId, replayWindow: 600 },
    { id: 'hin', z: 'tab', type: 'http in', url: '/wechat', method: 'post', skipBodyParsing: true, wires: [['win']] },
    { id: 'win', z: 'tab', type: 'wechat-in', account: 'acc', dedupeWindow: 60, ackTimeout: 4500, wires: [['wrep']] },
    { id: 'wrep', z: 'tab', type: 'wechat-reply', account: 'acc', replyType: 'text', content: 'welcome', contentType: 'str', wires: [['hres']] },
    { id: 'hres', z: 'tab', type: 'http response', wires: [] },
    { id: 'bin', z: 'tab', type: 'http in', url: '/bare', method: 'post', skipBodyParsing: true, wires: [['bres']] },
    { id: 'bres', z: 'tab', type: 'http response', wires: [] },
    // Two no-op hops (change nodes) in the same place as wechat-in and wechat-reply: what the
    // extra hops alone cost, to tell them apart from the WeChat work.
    { id: 'tin', z: 'tab', type: 'http in', url: '/three', method: 'post', skipBodyParsing: true, wires: [['t1']] },
    { id: 't1', z: 'tab', type: 'change', rules: [{ t: 'set', p: 'topic', pt: 'msg', to: 'x', tot: 'str' }], wires: [['t2']] },
    { id: 't2', z: 'tab', type: 'change', rules: [{ t: 'set', p: 'payload', pt: 'msg', to: '<xml><Content>welcome</Content></xml>', tot: 'str' }], wires: [['tres']] },
    { id: 'tres', z: 'tab', type: 'http response', wires: [] },
  ];
}

// CPU time (user + system, ms) the Node-RED process has used so far, from /proc (Linux).
function cpuMs(pid) {
  try {
    const fields = require('node:fs').readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, in USER_HZ (100)
  } catch {
    return NaN;
  }
}

async function cannon(url, path, requests, pid) {
  const cpuBefore = pid ? cpuMs(pid) : NaN;
  let i = 0;
  const prepared = requests.map((r) => ({ path: `${path}?${W.toQueryString(r.query)}`, body: r.body }));
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: DURATION,
    requests: [{
      method: 'POST',
      headers: { 'content-type': 'text/xml' },
      setupRequest: (req) => {
        const r = prepared[i++ % prepared.length];
        return { ...req, path: r.path, body: r.body };
      },
    }],
  });
  const cpu = pid ? cpuMs(pid) - cpuBefore : NaN;
  return {
    'server µs/req': round((cpu * 1000) / Math.max(1, result.requests.total), 1),
    requests: result.requests.total,
    rps: round(result.requests.average, 0),
    p50ms: result.latency.p50,
    p99ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

async function main() {
  console.log(`bench:inbound — ${N} messages per lib run, ${DURATION}s x ${CONNECTIONS} connections per webhook run\n`);
  const libRows = [];
  for (const mode of ['plain', 'safe']) {
    const requests = makeRequests(mode, N);
    benchLib(mode, requests.slice(0, 2000)); // warm up
    await benchPeer(mode, requests.slice(0, 2000));
    const ours = benchLib(mode, requests);
    const peer = await benchPeer(mode, requests);
    libRows.push({
      mode,
      'lib msg/s': round(N / ours, 0), 'lib µs/msg': round((ours / N) * 1e6, 1),
      'wechat msg/s': round(N / peer, 0), 'wechat µs/msg': round((peer / N) * 1e6, 1),
      ratio: round(peer / ours, 2), target: '>= 2',
    });
  }
  console.log('lib/ vs node-webot `wechat` middleware (same process, same messages)');
  table(libRows, ['mode', 'lib msg/s', 'lib µs/msg', 'wechat msg/s', 'wechat µs/msg', 'ratio', 'target']);

  const port = 18900 + Math.floor(Math.random() * 500);
  const nr = await startNodeRed({
    port, flows: webhookFlow(),
    credentials: { acc: { token: W.ACCOUNT.token, encodingAESKey: W.ACCOUNT.encodingAESKey } },
    settings: { httpAdminRoot: false, disableEditor: true },
    readyPath: '/bare',
  });
  const webRows = [];
  try {
    // Each mode is compared with the bare flow answering the very same requests (same query,
    // same body sizes), so the client's own cost is the same on both sides of the ratio.
    const warm = makeRequests('plain', 20000);
    await cannon(nr.url, '/bare', warm);
    for (const [mode, target] of [['plain', 0.8], ['safe', 0.7]]) {
      const count = 160000;
      const reqs = makeRequests(mode, count);
      const bare = await cannon(nr.url, '/bare', reqs, nr.child.pid);
      const hops = await cannon(nr.url, '/three', reqs, nr.child.pid);
      const ours = await cannon(nr.url, '/wechat', reqs, nr.child.pid);
      if (ours.requests > count) console.warn(`(${mode}: the request pool was reused; retries were answered from the dedupe cache)`);
      webRows.push({ flow: `bare http in -> http response (${mode} requests)`, ...bare, ratio: 1, target: '' });
      webRows.push({ flow: `  + 2 no-op change nodes (${mode} requests)`, ...hops, ratio: round(hops.rps / bare.rps, 2), target: '(reference)' });
      webRows.push({ flow: `wechat-in -> wechat-reply (${mode})`, ...ours, ratio: round(ours.rps / bare.rps, 2), target: `>= ${target}` });
    }
  } finally {
    await nr.stop();
  }
  console.log('\nwebhook throughput of a real Node-RED process (autocannon)');
  table(webRows, ['flow', 'rps', 'p50ms', 'p99ms', 'server µs/req', 'non2xx', 'errors', 'ratio', 'target']);
  writeResults('inbound', { lib: libRows, webhook: webRows, settings: { messages: N, seconds: DURATION, connections: CONNECTIONS } });
}

main().then(() => (process.env.BENCH_SKIP_ATTACK ? undefined : require('./inbound-attack').main())).catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
