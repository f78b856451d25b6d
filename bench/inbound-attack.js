'use strict';
// npm run bench:inbound -- part of it (also alone: node bench/inbound-attack.js).
//  attack: 64 clients flooding unsigned 256 KB bodies while signed follows are sent (p99 of the
//          follows, every reply checked): plaintext bodies at a plaintext account, then safe-mode
//          bodies (an unsigned <Encrypt> of 250 KB, over maxEncryptBytes; and one of 60 KB, under
//          it, in a 256 KB body) at a safe-mode account, with Node-RED's CPU per refused request;
//          then one unsigned 600 MB POST streamed at the webhook (Node-RED's RSS before/after) —
//          Node-RED set up as `npm start` does (body-limit middleware, http in nodes as in the
//          bundled flow, messageMode as set), except that the editor is off (httpAdminRoot: false):
//          `npm start` keeps it at /, where its app sees every request first.
//  soak:   100,000 distinct signed messages; RSS above the idle baseline at the delivery cache's cap.
//  soak-bare: the same load on a bare http in -> http response flow (Node-RED's own growth).
// Loopback only; every run is bounded in time.
const http = require('node:http');
const W = require('../test/helpers/wechat');
const lib = require('../dist/lib');
const { startNodeRed, startNodeArgs } = require('../scripts/nr-process');
const { table, writeResults, round, pct, cpuMs } = require('./util');
const { freePort } = require('../test/helpers/ports');

// Node-RED runs with the flags `npm start` uses (a 512 MB heap limit, scripts/nr-process.js);
// BENCH_HEAP=node-default runs it with Node's own limit instead (on this 24 GB machine 4 GB, and
// V8 then lets the old generation grow to ~4x the live heap). e.g. BENCH_NODE_ARGS=--trace-gc
// BENCH_INHERIT=1: what V8's heap does during the soak.
const NODE_DEFAULT_HEAP = process.env.BENCH_HEAP === 'node-default';
const HEAP_ARGS = NODE_DEFAULT_HEAP ? [] : startNodeArgs();
const HEAP_LABEL = NODE_DEFAULT_HEAP ? `Node's default (${Math.round(require('node:v8').getHeapStatistics().heap_size_limit / 2 ** 20)} MB limit)` : HEAP_ARGS.length ? `as npm start (${HEAP_ARGS.join(' ')})` : 'from NODE_OPTIONS';
const { rssMb: rssMB } = require('../test/helpers/rss');
const EXTRA_NODE_ARGS = (process.env.BENCH_NODE_ARGS || '').split(' ').filter(Boolean);
const ATTACK_SECONDS = Number(process.env.BENCH_ATTACK_SECONDS || 10);
const SOAK_MESSAGES = Number(process.env.BENCH_SOAK_MESSAGES || 100000);

function flow() {
  return [
    { id: 'tab', type: 'tab', label: 'bench' },
    { id: 'acc', type: 'wechat-config', appId: W.ACCOUNT.appId, replayWindow: 600, messageMode: 'safe' },
    { id: 'hin', z: 'tab', type: 'http in', url: '/wechat', method: 'post', wires: [['win']] },
    // a plaintext account on its own route, for the plaintext flood
    { id: 'accp', type: 'wechat-config', appId: W.ACCOUNT.appId, replayWindow: 600, messageMode: 'plain' },
    { id: 'pin', z: 'tab', type: 'http in', url: '/wechat-plain', method: 'post', wires: [['pwin']] },
    { id: 'pwin', z: 'tab', type: 'wechat-in', account: 'accp', dedupeWindow: 60, ackTimeout: 4500, wires: [['pwrep']] },
    { id: 'pwrep', z: 'tab', type: 'wechat-reply', account: 'accp', replyType: 'text', content: 'welcome', contentType: 'str', wires: [['hres']] },
    { id: 'win', z: 'tab', type: 'wechat-in', account: 'acc', dedupeWindow: Number(process.env.BENCH_DEDUPE_WINDOW ?? 60), ackTimeout: Number(process.env.BENCH_ACK_TIMEOUT ?? 4500), wires: [['wrep']] },
    { id: 'wrep', z: 'tab', type: 'wechat-reply', account: 'acc', replyType: 'text', content: 'welcome', contentType: 'str', wires: [['hres']] },
    { id: 'hres', z: 'tab', type: 'http response', wires: [] },
    // The same load on a bare flow: how much RSS Node-RED itself gains (BENCH_SOAK_PATH=/bare).
    { id: 'bin', z: 'tab', type: 'http in', url: '/bare', method: 'post', wires: [['bres']] },
    { id: 'bres', z: 'tab', type: 'http response', wires: [] },
  ];
}

function post(port, path, body, agent) {
  return new Promise((resolve) => {
    const start = process.hrtime.bigint();
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path, agent, headers: { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(body) }, timeout: 15000 }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString(), ms: Number(process.hrtime.bigint() - start) / 1e6 }));
    });
    req.on('error', (err) => resolve({ error: err.code, ms: Number(process.hrtime.bigint() - start) / 1e6 }));
    req.on('timeout', () => req.destroy());
    req.end(body);
  });
}

/** One unsigned POST of `totalBytes`, streamed from one reused 64 KB buffer (never allocated whole). */
function streamHuge(port, totalBytes) {
  return new Promise((resolve) => {
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let sent = 0;
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: `/wechat?signature=x&timestamp=${W.now()}&nonce=1`, headers: { 'content-type': 'text/xml', 'content-length': totalBytes } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, sent }));
    });
    req.on('error', (err) => resolve({ error: err.code, sent }));
    const pump = () => {
      while (sent < totalBytes) {
        sent += chunk.length;
        if (!req.write(chunk)) return req.once('drain', pump);
      }
      req.end();
    };
    pump();
    setTimeout(() => { req.destroy(); resolve({ timeout: true, sent }); }, 60000).unref();
  });
}

/**
 * One flood: 64 clients send `body` to `path` with an unsigned `query` for ATTACK_SECONDS while one
 * client sends a signed follow (`sign(i)`) every 100 ms. Node-RED's CPU during the flood, divided
 * by the refused requests, is the cost of a refusal (the follows' share is negligible).
 */
async function floodRun(nr, port, { path, query, body, sign }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const until = Date.now() + ATTACK_SECONDS * 1000;
  let refused = 0;
  let other = 0;
  const cpu0 = cpuMs(nr.child.pid);
  const flooders = Array.from({ length: 64 }, async () => {
    while (Date.now() < until) {
      const res = await post(port, `${path}?${query()}`, body, agent);
      if (res.status >= 400 && res.status < 500) refused++; else other++;
    }
  });
  const follows = [];
  let wrong = 0;
  const follower = (async () => {
    let i = 0;
    while (Date.now() < until) {
      const openid = `oAttack${Date.now()}${i++}`;
      const r = sign(openid);
      const res = await post(port, `${path}?${W.toQueryString(r.query)}`, r.body);
      follows.push(res.ms);
      const inner = res.status === 200 ? (r.query.encrypt_type ? W.openReply(res.body).inner : res.body) : '';
      if (!inner.includes(openid)) wrong++;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  await Promise.all([...flooders, follower]);
  const cpu = cpuMs(nr.child.pid) - cpu0;
  agent.destroy();
  return { refused, other, follows, wrong, cpuMs: cpu, usPerRefusal: (cpu * 1000) / Math.max(1, refused + follows.length) };
}

async function attack(nr, port) {
  const unsigned = () => `signature=${'0'.repeat(40)}&timestamp=${W.now()}&nonce=1`;
  const unsignedSafe = () => `${unsigned()}&encrypt_type=aes&msg_signature=${'0'.repeat(40)}`;
  const BODY = 256 * 1024 - 64;
  const plainBody = `<xml>${'<a>1</a>'.repeat(Math.floor((BODY - 11) / 8))}</xml>`;
  const safeBody = (encryptBytes) => {
    const pad = BODY - encryptBytes - 40;
    return `<xml><ToUserName>gh</ToUserName><Encrypt>${'A'.repeat(encryptBytes)}</Encrypt>${' '.repeat(Math.max(0, pad))}</xml>`;
  };
  const runs = [
    { name: 'plaintext: unsigned 256 KB bodies', path: '/wechat-plain', query: unsigned, body: plainBody, sign: (o) => W.plainRequest(W.subscribe(o)) },
    { name: 'safe mode: unsigned <Encrypt> of 250 KB (over maxEncryptBytes)', path: '/wechat', query: unsignedSafe, body: safeBody(250 * 1024), sign: (o) => W.safeRequest(W.subscribe(o)) },
    { name: 'safe mode: unsigned <Encrypt> of 60 KB in a 256 KB body (hashed)', path: '/wechat', query: unsignedSafe, body: safeBody(60 * 1024), sign: (o) => W.safeRequest(W.subscribe(o)) },
  ];
  const rows = [];
  const data = { floods: [] };
  let plainCost;
  for (const run of runs) {
    const r = await floodRun(nr, port, run);
    if (plainCost === undefined) plainCost = r.usPerRefusal;
    const ratio = r.usPerRefusal / plainCost;
    rows.push({
      run: `flood, 64 clients x ${ATTACK_SECONDS} s, ${run.name}`,
      value: `${r.refused} refused (${r.other} other); Node-RED CPU ${round(r.usPerRefusal, 0)} µs a refusal (${round(ratio, 2)}x plaintext); ${r.follows.length} signed follows, p50 ${round(pct(r.follows, 50), 1)} ms, p99 ${round(pct(r.follows, 99), 1)} ms, ${r.wrong} wrong`,
      target: run.path === '/wechat-plain' ? 'follows p99 < 1000 ms, 0 wrong' : 'follows p99 < 1000 ms, 0 wrong; cost <= 1.2x plaintext',
    });
    data.floods.push({ name: run.name, refused: r.refused, other: r.other, follows: r.follows.length, followP50: pct(r.follows, 50), followP99: pct(r.follows, 99), wrongReplies: r.wrong, cpuMs: r.cpuMs, usPerRefusal: r.usPerRefusal, costRatio: ratio });
  }
  const before = rssMB(nr.child.pid);
  const huge = await streamHuge(port, 600 * 1024 * 1024);
  await new Promise((resolve) => setTimeout(resolve, 500));
  const after = rssMB(nr.child.pid);
  rows.push({ run: 'unsigned 600 MB POST (streamed)', value: `${huge.status || huge.error || 'timeout'} after ${round(huge.sent / 2 ** 20, 1)} MB sent; RSS ${round(before, 0)} -> ${round(after, 0)} MB (+${round(after - before, 1)})`, target: '< +50 MB' });
  Object.assign(data, { huge, rssBefore: before, rssAfter: after });
  return { rows, data };
}

/** V8's heap spaces and ArrayBuffer bytes of the Node-RED child (bench/heap-probe.js), in MB; `gc` runs a full GC first. */
function probe(probePort, gc = false) {
  return new Promise((resolve) => {
    http.get(`http://127.0.0.1:${probePort}/${gc ? '?gc' : ''}`, (res) => {
      let b = '';
      res.on('data', (c) => { b += c; });
      res.on('end', () => { try { resolve(JSON.parse(b)); } catch { resolve(undefined); } });
    }).on('error', () => resolve(undefined));
  });
}

const SOAK_SETTLE_SECONDS = Number(process.env.BENCH_SOAK_SETTLE ?? 30);

/**
 * 100,000 distinct signed safe-mode messages from 32 clients. RSS is read at idle, every 250 ms
 * during the run (peak), 1 s after the last reply (the retry cache at its fullest: every reply of
 * the last 20 s is still held) and again after `BENCH_SOAK_SETTLE` seconds of quiet. No GC is
 * forced before the "1 s after" reading: the figures an operator would see. Right after it one
 * full GC is forced (bench/heap-probe.js) to split that RSS into what is held (V8's live heap,
 * the retry cache's ArrayBuffers) and what V8 had not collected yet.
 */
async function soak(nr, port, path, probePort) {
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const idle = rssMB(nr.child.pid);
  const heapIdle = await probe(probePort);
  let peak = idle;
  const sampler = setInterval(() => { peak = Math.max(peak, rssMB(nr.child.pid)); }, 250);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  let next = 0;
  let bad = 0;
  const doneAt = [];
  const started = Date.now();
  const deadline = started + 240000;
  const workers = Array.from({ length: 32 }, async () => {
    while (next < SOAK_MESSAGES && Date.now() < deadline) {
      const i = next++;
      const r = W.safeRequest(W.text(`oSoak${String(i).padStart(22, '0')}`, `message ${i}`, String(7000000000000000000n + BigInt(i))));
      const res = await post(port, `${path}?${W.toQueryString(r.query)}`, r.body, agent);
      if (res.status !== 200) bad++;
      doneAt.push(Date.now());
    }
  });
  await Promise.all(workers);
  const seconds = (Date.now() - started) / 1000;
  agent.destroy();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  clearInterval(sampler);
  const after = rssMB(nr.child.pid);
  const heapAfter = await probe(probePort);
  // Then one full GC, to tell what is held from what V8 has not collected yet: the retry cache
  // lives in ArrayBuffers, so ArrayBuffer bytes after the GC minus those at idle are its bytes.
  const heapGc = await probe(probePort, true);
  peak = Math.max(peak, after);
  // What the retry cache holds now: the replies completed within its reply TTL (the run stays far
  // below the byte bound's ~64,000 safe-mode replies) and the claims of the last 60 s.
  const now = Date.now();
  const on = path === '/wechat' && process.env.BENCH_DEDUPE_WINDOW !== '0';
  const cached = on ? doneAt.filter((t) => t > now - lib.DEFAULT_REPLY_TTL_MS).length : 0;
  const claims = on ? doneAt.filter((t) => t > now - 60000).length : 0;
  await new Promise((resolve) => setTimeout(resolve, SOAK_SETTLE_SECONDS * 1000));
  const settled = rssMB(nr.child.pid);
  const label = path === '/bare' ? 'bare http in -> http response' : process.env.BENCH_DEDUPE_WINDOW === '0' ? 'wechat-in -> wechat-reply, retry cache off' : 'wechat-in -> wechat-reply';
  const perCached = cached ? `; ${round(((after - idle) * 2 ** 20) / cached, 0)} B of RSS per cached reply (${cached} replies, ${claims} claims held)` : '';
  const cacheMB = heapGc && heapIdle ? heapGc.arrayBuffers - heapIdle.arrayBuffers : NaN;
  const heapNote = heapGc && heapAfter ? `; 1 s after: V8 heap ${round(heapAfter.heapUsed, 0)} MB used of ${round(heapAfter.heapTotal, 0)}, after a full GC ${round(heapGc.heapUsed, 0)} MB live (idle ${round(heapIdle.heapUsed, 0)}); ArrayBuffers +${round(cacheMB, 1)} MB${cached ? ` = ${round((cacheMB * 2 ** 20) / cached, 0)} B per cached reply` : ''}` : '';
  return {
    rows: [{
      run: `soak: ${next} distinct signed safe-mode messages, ${label} (${round(next / seconds, 0)}/s), heap ${HEAP_LABEL}`,
      value: `RSS idle ${round(idle, 0)} MB; peak +${round(peak - idle, 1)}; 1 s after +${round(after - idle, 1)}${perCached}; after ${SOAK_SETTLE_SECONDS} s quiet (one full GC forced at 1 s) +${round(settled - idle, 1)}; ${bad} non-200${heapNote}`,
      target: path === '/wechat' ? '<= +100 MB (1 s after)' : '(reference)',
    }],
    data: { path, label, heapLimit: HEAP_LABEL, messages: next, seconds, idle, peak, after, settled, settleSeconds: SOAK_SETTLE_SECONDS, cachedReplies: cached, claims, nonOk: bad, cacheMB, heap: { idle: heapIdle, after: heapAfter, gc: heapGc } },
  };
}

async function main(parts = ['attack', 'soak', 'soak-bare']) {
  const rows = [];
  const data = {};
  for (const part of parts) {
    const port = await freePort();
    const probePort = await freePort();
    const nr = await startNodeRed({
      port, flows: flow(),
      credentials: { acc: { token: W.ACCOUNT.token, encodingAESKey: W.ACCOUNT.encodingAESKey }, accp: { token: W.ACCOUNT.token } },
      settings: { httpAdminRoot: false, disableEditor: true, bodyLimit: { limit: 262144, paths: ['/wechat', '/wechat-plain'] } },
      readyPath: '/nothing',
      env: { HEAP_PROBE_PORT: String(probePort) },
      nodeArgs: [...HEAP_ARGS, '--expose-gc', '-r', require.resolve('./heap-probe'), ...EXTRA_NODE_ARGS],
      inherit: !!process.env.BENCH_INHERIT,
    });
    try {
      const r = part === 'attack' ? await attack(nr, port) : await soak(nr, port, part === 'soak-bare' ? '/bare' : process.env.BENCH_SOAK_PATH || '/wechat', probePort);
      rows.push(...r.rows);
      data[part] = r.data;
    } finally {
      await nr.stop();
    }
  }
  console.log(`\ninbound under attack and soak (Node-RED set up as \`npm start\`: body-limit middleware; heap ${HEAP_LABEL})`);
  table(rows, ['run', 'value', 'target']);
  writeResults(NODE_DEFAULT_HEAP ? 'inbound-attack-node-default-heap' : 'inbound-attack', data);
}

if (require.main === module) {
  main(process.argv.slice(2).length ? process.argv.slice(2) : undefined).catch((err) => { console.error(err); process.exitCode = 1; });
}
module.exports = { main };
