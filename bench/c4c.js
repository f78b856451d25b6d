'use strict';
// npm run bench:c4c — followers/second through c4c-create-customer (a real Node-RED process)
// against the C4C simulator at 50 ms and 500 ms per request, and C4C requests per new follower
// (target <= 2: lookup + create, CSRF amortised) and per returning follower (target 1).
const autocannon = require('autocannon');
const { C4CSimulator } = require('../dist/sandbox/c4c');
const lib = require('../dist/lib');
const { startNodeRed } = require('../scripts/nr-process');
const { table, writeResults, round } = require('./util');
const { freePort } = require('../test/helpers/ports');

const USER = 'BENCH_USER';
const PASSWORD = 'bench-password';

async function main() {
  const sim = new C4CSimulator({ users: { [USER]: PASSWORD } });
  const simServer = await sim.listen(0);
  const baseUrl = `http://127.0.0.1:${simServer.address().port}`;
  const cases = [
    { latency: 50, concurrency: 4, followers: 200 },
    { latency: 500, concurrency: 4, followers: 40 },
    { latency: 500, concurrency: 16, followers: 160 },
  ];
  const rows = [];
  for (const c of cases) {
    const flows = [
      { id: 'tab', type: 'tab', label: 'bench' },
      { id: 'sys', type: 'c4c-config', baseUrl, maxConcurrency: c.concurrency, timeout: 30000, retries: 3 },
      { id: 'hin', z: 'tab', type: 'http in', url: '/follow', method: 'post', wires: [['set']] },
      { id: 'set', z: 'tab', type: 'change', rules: [{ t: 'set', p: 'wechat.openid', pt: 'msg', to: 'req.query.openid', tot: 'msg' }], wires: [['cust']] },
      { id: 'cust', z: 'tab', type: 'c4c-create-customer', system: 'sys', wires: [['hres']] },
      { id: 'hres', z: 'tab', type: 'http response', wires: [] },
      { id: 'ready', z: 'tab', type: 'http in', url: '/ready', method: 'get', wires: [['rres']] },
      { id: 'rres', z: 'tab', type: 'http response', wires: [] },
    ];
    const nr = await startNodeRed({ port: await freePort(), flows, credentials: { sys: { username: USER, password: PASSWORD } }, settings: { httpAdminRoot: false, disableEditor: true }, readyPath: '/ready' });
    try {
      for (const phase of ['new', 'returning']) {
        if (phase === 'new') sim.reset();
        sim.faults.latencyMs = c.latency;
        const before = sim.stats();
        let i = 0;
        const t0 = Date.now();
        const result = await autocannon({
          url: nr.url, connections: c.concurrency * 2, amount: c.followers, timeout: 120,
          requests: [{ method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}', setupRequest: (req) => ({ ...req, path: `/follow?openid=oBench${i++ % c.followers}` }) }],
        });
        const secs = (Date.now() - t0) / 1000;
        const after = sim.stats();
        rows.push({
          'C4C latency': `${c.latency} ms`, maxConcurrency: c.concurrency, followers: `${c.followers} ${phase}`,
          'followers/s': round(c.followers / secs, 1),
          'p50 ms': result.latency.p50, 'p99 ms': result.latency.p99,
          'requests/follower': round((after.requests - before.requests) / c.followers, 2),
          'CSRF fetches': after.csrfFetches - before.csrfFetches,
          '$metadata': after.metadata - before.metadata,
          customers: after.customers,
          failed: result.non2xx + result.errors,
          target: phase === 'new' ? '<= 2' : '1',
        });
      }
    } finally {
      await nr.stop();
    }
  }
  await sim.close();
  console.log('bench:c4c — c4c-create-customer in a real Node-RED process against the C4C simulator');
  table(rows, ['C4C latency', 'maxConcurrency', 'followers', 'followers/s', 'p50 ms', 'p99 ms', 'requests/follower', 'CSRF fetches', '$metadata', 'customers', 'failed', 'target']);
  // The settle period: a create committed after the client's timeout and answered 3x later.
  const settle = [];
  for (const drop of [false, true]) {
    const s2 = new C4CSimulator({ users: { [USER]: PASSWORD } });
    const srv = await s2.listen(0);
    const timeoutMs = 1000;
    const client = new lib.C4CClient({ baseUrl: `http://127.0.0.1:${srv.address().port}`, username: USER, password: PASSWORD, timeoutMs });
    const svc = new lib.CustomerService(client, { timeoutMs });
    await svc.metadataFor('IndividualCustomerCollection');
    s2.slowCommit(drop ? { drop: true, commitAfterMs: 1500 } : { commitAfterMs: 1500, answerAfterMs: 3000 });
    const t0 = Date.now();
    const r = await svc.createOrFind(svc.buildRequest({ firstName: 'Wechat', lastName: 'oSettle', openid: 'oSettle' }));
    settle.push({ case: drop ? 'commit at 1.5 s, connection dropped' : 'commit at 1.5 s, answer at 3 s', timeout: `${timeoutMs} ms`, 'ms to result': Date.now() - t0, created: r.created, customers: s2.customers.length, POSTs: s2.stats().posts, 'settle lookups': svc.stats.settleLookups, target: '1 customer, created: true' });
    client.close();
    await s2.close();
  }
  console.log('settle period (no duplicate on an ambiguous create)');
  table(settle, ['case', 'timeout', 'ms to result', 'created', 'customers', 'POSTs', 'settle lookups', 'target']);
  writeResults('c4c', { rows, settle });
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
