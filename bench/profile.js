'use strict';
// node bench/profile.js [bare|three|wechat] [plain|safe] [seconds] — where the webhook's CPU goes
// (the profile table of the README's "Benchmarks" section). One Node-RED process per call, with
// bench/inbound.js's flows and npm start's heap limit, under `node --cpu-prof`; 32 connections
// for 3 s of warm-up and then `seconds` (default 8) to one flow: /bare (http in -> http response),
// /three (two no-op change nodes) or /wechat (wechat-in -> wechat-reply). Prints the self time
// per request by origin and writes it to bench/results/profile-<flow>-<mode>.json. The profiler
// samples wall time: run each configuration more than once and compare the least busy runs.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const autocannon = require('autocannon');
const W = require('../test/helpers/wechat');
const { startNodeRed, startNodeArgs } = require('../scripts/nr-process');
const { webhookFlow, makeRequests } = require('./inbound');
const { table, writeResults, round } = require('./util');
const { freePort } = require('../test/helpers/ports');

const [flow = 'wechat', mode = 'plain', secondsArg = '8'] = process.argv.slice(2);
const SECONDS = Number(secondsArg);

/** Which part of the process a profile frame belongs to. */
function origin(name, url) {
  if (/\/dist\/(lib|nodes)\//.test(url)) return 'our JS (lib/, nodes/)';
  if (name === '(garbage collector)') return 'garbage collection';
  if (name === '(idle)') return 'idle';
  if (name === '(program)') return 'V8 (program)';
  if (name.startsWith('RegExp:')) return 'regular expressions';
  if (/^(writev|writeBuffer|writeUtf8String|writeLatin1String)$/.test(name) || url.includes('stream_base_commons')) return 'socket writes';
  if (url.includes('node:internal/crypto') || (url.startsWith('node:') && /^(hash|digest|update|final|randomInt|randomBytes|createHash|createCipheriv|createDecipheriv|timingSafeEqual|toString|from|byteLength|write|slice|subarray|copy|concat|alloc|allocUnsafe|createUnsafeBuffer|base64Slice|utf8Write|latin1Slice|hexSlice|base64Write|Hash|Cipheriv|Decipheriv)$/.test(name))) return "Node's crypto and Buffer/string conversions";
  if (url.includes('@node-red/nodes/core/network')) return '`http in` / `http response` nodes';
  if (url.includes('@node-red/')) return 'Node-RED runtime (passing messages between nodes, hooks)';
  if (/node_modules\/(express|cookie-parser|qs|body-parser|content-type|cookie|on-finished|finalhandler|etag|fresh|send|mime|parseurl|type-is|media-typer|raw-body|depd|vary|accepts|negotiator|range-parser|proxy-addr|encodeurl|escape-html|statuses|utils-merge|setprototypeof|safe-buffer|destroy|http-errors|iconv-lite|cors|object-assign|merge-descriptors|forwarded)\//.test(url)) return 'Express and the middleware Node-RED puts on every route';
  if (/^node:(_http|http|net|events|internal\/(streams|http|stream|timers|process|async))/.test(url) || /^(runMicrotasks|emit|processTicksAndRejections|processImmediate|listOnTimeout)$/.test(name)) return "Node's HTTP, streams, events, timers, microtasks";
  return 'other';
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wechat-c4c-prof-'));
  const port = await freePort();
  const nr = await startNodeRed({
    port, flows: webhookFlow(), credentials: { acc: { token: W.ACCOUNT.token, encodingAESKey: W.ACCOUNT.encodingAESKey } },
    settings: { httpAdminRoot: false, disableEditor: true, bodyLimit: { limit: 262144, paths: ['/wechat'] } }, readyPath: '/bare',
    nodeArgs: [...startNodeArgs(), '--cpu-prof', '--cpu-prof-interval=200', `--cpu-prof-dir=${dir}`],
  });
  // distinct requests (a repeated one would be a retry, answered from the cache)
  const prepared = makeRequests(mode, 60000).map((r) => ({ path: `/${flow}?${W.toQueryString(r.query)}`, body: r.body }));
  let i = 0;
  const drive = (seconds) => autocannon({
    url: `http://127.0.0.1:${port}`, connections: 32, duration: seconds,
    requests: [{ method: 'POST', headers: { 'content-type': 'text/xml' }, setupRequest: (req) => ({ ...req, ...prepared[i++ % prepared.length] }) }],
  });
  await drive(3);
  const measuredFrom = Date.now();
  const result = await drive(SECONDS);
  const windowMs = Date.now() - measuredFrom;
  nr.child.kill('SIGINT'); // the profile is written when the process exits
  await new Promise((r) => nr.child.once('exit', r));
  const file = fs.readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  const prof = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
  fs.rmSync(dir, { recursive: true, force: true });
  const nodes = new Map(prof.nodes.map((n) => [n.id, n]));
  const from = prof.endTime - windowMs * 1000; // the measured seconds, up to the exit
  const byOrigin = {};
  let t = prof.startTime;
  for (let k = 0; k < prof.samples.length; k++) {
    t += prof.timeDeltas[k];
    if (t < from) continue;
    const cf = nodes.get(prof.samples[k]).callFrame;
    const o = origin(cf.functionName, cf.url);
    byOrigin[o] = (byOrigin[o] || 0) + prof.timeDeltas[k];
  }
  const requests = result.requests.total;
  const rows = Object.entries(byOrigin).sort((a, b) => b[1] - a[1]).map(([o, us]) => ({ origin: o, 'µs per request': round(us / requests, 1) }));
  const busy = Object.entries(byOrigin).filter(([o]) => o !== 'idle').reduce((x, [, us]) => x + us, 0) / requests;
  console.log(`/${flow}, ${mode}: ${requests} requests in ${SECONDS} s, ${result.non2xx} non-2xx; busy ${round(busy, 1)} µs per request`);
  table(rows, ['origin', 'µs per request']);
  writeResults(`profile-${flow}-${mode}`, { flow, mode, seconds: SECONDS, requests, busyUsPerRequest: busy, usPerRequest: Object.fromEntries(rows.map((r) => [r.origin, r['µs per request']])) });
}

main().catch((err) => { console.error(err); process.exitCode = 1; });
