'use strict';
// npm run bench:push — sends/second through wechat-push (a real Node-RED process) against the
// WeChat API simulator, and token requests per 10,000 sends (target: 1).
const autocannon = require('autocannon');
const { WeChatApiSimulator } = require('../dist/sandbox/wechat-api');
const { startNodeRed } = require('../scripts/nr-process');
const { table, writeResults, round } = require('./util');
const { freePort } = require('../test/helpers/ports');

const SENDS = Number(process.env.BENCH_SENDS || 10000);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS || 32);
const APPID = 'wx5ba5fad812f8e6fb';
const SECRET = 'bench-secret';

async function main() {
  const sim = new WeChatApiSimulator({ accounts: [{ appId: APPID, secret: SECRET }], openWindow: true });
  const simServer = await sim.listen(0);
  const apiBase = `http://127.0.0.1:${simServer.address().port}`;
  const port = await freePort();
  const flows = [
    { id: 'tab', type: 'tab', label: 'bench' },
    { id: 'acc', type: 'wechat-config', appId: APPID, apiBase, tokenMode: 'stable' },
    { id: 'hin', z: 'tab', type: 'http in', url: '/push', method: 'post', wires: [['push']] },
    { id: 'push', z: 'tab', type: 'wechat-push', account: 'acc', msgtype: 'text', touser: 'req.query.openid', touserType: 'msg', content: 'payload', contentType: 'msg', wires: [['hres']] },
    { id: 'hres', z: 'tab', type: 'http response', wires: [] },
    { id: 'bin', z: 'tab', type: 'http in', url: '/bare', method: 'post', wires: [['bres']] },
    { id: 'bres', z: 'tab', type: 'http response', wires: [] },
  ];
  const nr = await startNodeRed({ port, flows, credentials: { acc: { appSecret: SECRET } }, settings: { httpAdminRoot: false, disableEditor: true }, readyPath: '/bare' });
  const rows = [];
  try {
    for (const [name, latencyMs] of [['simulator 0 ms', 0], ['simulator 20 ms', 20]]) {
      sim.reset();
      sim.opts.openWindow = true;
      sim.faults.latencyMs = latencyMs;
      let i = 0;
      const result = await autocannon({
        url: nr.url, connections: CONNECTIONS, amount: SENDS,
        requests: [{ method: 'POST', headers: { 'content-type': 'text/plain' }, setupRequest: (req) => ({ ...req, path: `/push?openid=oBench${i % 5000}`, body: `欢迎 welcome #${i++}` }) }],
      });
      const s = sim.stats();
      rows.push({
        case: name,
        'sends/s': round(result.requests.average, 0),
        p50ms: result.latency.p50, p99ms: result.latency.p99,
        delivered: s.delivered,
        'token requests': s.stableTokenRequests + s.tokenRequests,
        'per 10k sends': round(((s.stableTokenRequests + s.tokenRequests) / Math.max(1, s.delivered)) * 10000, 2),
        errors: result.non2xx + result.errors,
        target: '1 per 10k',
      });
    }
  } finally {
    await nr.stop();
    await sim.close();
  }
  console.log(`bench:push — ${SENDS} sends through wechat-push in a real Node-RED process, ${CONNECTIONS} connections`);
  table(rows, ['case', 'sends/s', 'p50ms', 'p99ms', 'delivered', 'token requests', 'per 10k sends', 'errors', 'target']);
  writeResults('push', { rows, settings: { sends: SENDS, connections: CONNECTIONS } });
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
