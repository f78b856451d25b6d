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
const { startNodeRed, startNodeArgs } = require('../scripts/nr-process');
const { table, writeResults, round, cpuMs } = require('./util');
const { freePort } = require('../test/helpers/ports');

const N = Number(process.env.BENCH_MESSAGES || 20000);
const DURATION = Number(process.env.BENCH_SECONDS || 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS || 32);
const ROUNDS = Number(process.env.BENCH_ROUNDS || 6);
const ROUND_SECONDS = Number(process.env.BENCH_ROUND_SECONDS || 4);

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
    { id: 'hin', z: 'tab', type: 'http in', url: '/wechat', method: 'post', wires: [['win']] },
    { id: 'win', z: 'tab', type: 'wechat-in', account: 'acc', dedupeWindow: 60, ackTimeout: 4500, wires: [['wrep']] },
    { id: 'wrep', z: 'tab', type: 'wechat-reply', account: 'acc', replyType: 'text', content: 'welcome', contentType: 'str', wires: [['hres']] },
    { id: 'hres', z: 'tab', type: 'http response', wires: [] },
    { id: 'bin', z: 'tab', type: 'http in', url: '/bare', method: 'post', wires: [['bres']] },
    { id: 'bres', z: 'tab', type: 'http response', wires: [] },
    // Two no-op hops (change nodes) in the same place as wechat-in and wechat-reply: what the
    // extra hops alone cost, to tell them apart from the WeChat work.
    { id: 'tin', z: 'tab', type: 'http in', url: '/three', method: 'post', wires: [['t1']] },
    { id: 't1', z: 'tab', type: 'change', rules: [{ t: 'set', p: 'topic', pt: 'msg', to: 'x', tot: 'str' }], wires: [['t2']] },
    { id: 't2', z: 'tab', type: 'change', rules: [{ t: 'set', p: 'payload', pt: 'msg', to: '<xml><Content>welcome</Content></xml>', tot: 'str' }], wires: [['tres']] },
    { id: 'tres', z: 'tab', type: 'http response', wires: [] },
  ];
}

// CPU time (user + system, ms) the Node-RED process has used so far, from /proc (Linux).
/** CPU jiffies of the whole machine from /proc/stat: [busy, total]. */
function machineJiffies() {
  try {
    const f = require('node:fs').readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = f[3] + (f[4] || 0);
    const total = f.reduce((x, y) => x + y, 0);
    return [total - idle, total];
  } catch {
    return [NaN, NaN];
  }
}

// Each flow keeps its own position in the request pool across rounds: no request is sent twice
// to the same flow (a second send would be a retry, answered from the dedupe cache).
const cursors = new Map();

async function cannon(url, path, requests, pid, seconds = DURATION) {
  const cpuBefore = pid ? cpuMs(pid) : NaN;
  const key = `${path}|${requests.length}|${requests[0].query.nonce}`;
  let i = cursors.get(key) || 0;
  const prepared = requests.map((r) => ({ path: `${path}?${W.toQueryString(r.query)}`, body: r.body }));
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [{
      method: 'POST',
      headers: { 'content-type': 'text/xml' },
      setupRequest: (req) => {
        const r = prepared[i++ % prepared.length];
        return { ...req, path: r.path, body: r.body };
      },
    }],
  });
  cursors.set(key, i);
  const cpu = pid ? cpuMs(pid) - cpuBefore : NaN;
  return { requests: result.requests.total, seconds, cpuMs: cpu, p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx, errors: result.errors + result.timeouts, wrapped: i > prepared.length };
}

const median = (xs) => { const s = [...xs].sort((x, y) => x - y); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };

async function main() {
  console.log(`bench:inbound — ${N} messages per lib run; webhook: ${ROUNDS} interleaved rounds of ${ROUND_SECONDS}s per flow, ${CONNECTIONS} connections\n`);
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

  const port = await freePort();
  const nr = await startNodeRed({
    port, flows: webhookFlow(),
    credentials: { acc: { token: W.ACCOUNT.token, encodingAESKey: W.ACCOUNT.encodingAESKey } },
    // as the README's settings.js: the body-limit middleware on the WeChat route
    settings: { httpAdminRoot: false, disableEditor: true, bodyLimit: { limit: 262144, paths: ['/wechat'] } },
    readyPath: '/bare',
    // the heap limit `npm start` uses (BENCH_HEAP=node-default: Node's own)
    nodeArgs: process.env.BENCH_HEAP === 'node-default' ? [] : startNodeArgs(),
  });
  const webRows = [];
  const machine = [];
  try {
    // Each mode is compared with the bare flow answering the very same requests (same query,
    // same body sizes), so the client's own cost is the same on both sides of the ratio. The
    // flows run interleaved in short rounds (order rotated each round) so that load from other
    // processes on the shared machine falls on all of them alike; the ratio is taken per round.
    const warm = makeRequests('plain', 20000);
    await cannon(nr.url, '/bare', warm, undefined, 5);
    await cannon(nr.url, '/wechat', makeRequests('plain', 20000), undefined, 5);
    const flows = [['bare', '/bare'], ['hops', '/three'], ['ours', '/wechat']];
    for (const [mode, target] of [['plain', 0.8], ['safe', 0.7]]) {
      const reqs = makeRequests(mode, 160000);
      const sum = { bare: [], hops: [], ours: [] };
      const [busy0, total0] = machineJiffies();
      const nrCpu0 = cpuMs(nr.child.pid);
      const self0 = process.cpuUsage();
      const start = Date.now();
      for (let round = 0; round < ROUNDS; round++) {
        const order = flows.slice(round % 3).concat(flows.slice(0, round % 3));
        for (const [name, path] of order) sum[name].push(await cannon(nr.url, path, reqs, nr.child.pid, ROUND_SECONDS));
      }
      const [busy1, total1] = machineJiffies();
      const wallMs = Date.now() - start;
      const nrCpu = cpuMs(nr.child.pid) - nrCpu0;
      const self = process.cpuUsage(self0);
      const selfMs = (self.user + self.system) / 1000;
      const cores = require('node:os').cpus().length;
      const machineBusy = (busy1 - busy0) / (total1 - total0);
      const others = Math.max(0, machineBusy - (nrCpu + selfMs) / (wallMs * cores));
      const row = (name, rounds) => {
        const reqTotal = rounds.reduce((x, r) => x + r.requests, 0);
        const secs = rounds.reduce((x, r) => x + r.seconds, 0);
        const cpu = rounds.reduce((x, r) => x + r.cpuMs, 0);
        if (rounds.some((r) => r.wrapped)) console.warn(`(${mode} ${name}: the request pool was reused; retries were answered from the dedupe cache)`);
        return { requests: reqTotal, rps: round(reqTotal / secs, 0), 'server µs/req': round((cpu * 1000) / Math.max(1, reqTotal), 1), p50ms: median(rounds.map((r) => r.p50)), p99ms: median(rounds.map((r) => r.p99)), non2xx: rounds.reduce((x, r) => x + r.non2xx, 0), errors: rounds.reduce((x, r) => x + r.errors, 0) };
      };
      const bare = row('bare', sum.bare);
      const hops = row('hops', sum.hops);
      const ours = row('ours', sum.ours);
      const perRound = (name) => sum[name].map((r, k) => r.requests / sum.bare[k].requests);
      const cpuRatio = (x) => round(bare['server µs/req'] / x['server µs/req'], 2);
      webRows.push({ flow: `bare http in -> http response (${mode} requests)`, ...bare, ratio: 1, 'cpu ratio': 1, target: '' });
      webRows.push({ flow: `  + 2 no-op change nodes (${mode} requests)`, ...hops, ratio: round(median(perRound('hops')), 2), 'cpu ratio': cpuRatio(hops), target: '(reference)' });
      webRows.push({ flow: `wechat-in -> wechat-reply (${mode})`, ...ours, ratio: round(median(perRound('ours')), 2), 'cpu ratio': cpuRatio(ours), target: `>= ${target}` });
      machine.push({ mode, rounds: ROUNDS, 'round s': ROUND_SECONDS, 'machine busy': `${round(machineBusy * 100, 0)}% of ${cores} cores`, 'Node-RED': `${round((nrCpu / (wallMs * cores)) * 100, 0)}%`, 'bench (autocannon)': `${round((selfMs / (wallMs * cores)) * 100, 0)}%`, 'other processes': `${round(others * 100, 0)}%`, 'load avg (1 min)': round(require('node:os').loadavg()[0], 2), 'per-round ratios (ours)': perRound('ours').map((x) => round(x, 2)).join(' ') });
    }
  } finally {
    await nr.stop();
  }
  console.log('\nwebhook throughput of a real Node-RED process (autocannon)');
  console.log('ratio: median over the rounds of ours ÷ bare requests; cpu ratio: bare ÷ ours server CPU per request');
  table(webRows, ['flow', 'rps', 'p50ms', 'p99ms', 'server µs/req', 'non2xx', 'errors', 'ratio', 'cpu ratio', 'target']);
  console.log('\nhow busy the machine was during the webhook runs (/proc/stat)');
  table(machine, ['mode', 'rounds', 'round s', 'machine busy', 'Node-RED', 'bench (autocannon)', 'other processes', 'load avg (1 min)', 'per-round ratios (ours)']);
  writeResults('inbound', { lib: libRows, webhook: webRows, machine, settings: { messages: N, rounds: ROUNDS, roundSeconds: ROUND_SECONDS, connections: CONNECTIONS } });
}

if (require.main === module) {
  main().then(() => (process.env.BENCH_SKIP_ATTACK ? undefined : require('./inbound-attack').main())).catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
module.exports = { webhookFlow, makeRequests };
