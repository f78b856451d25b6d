'use strict';
// The admin's first hour: a Node-RED with this package and nothing else, the README's environment
// variables set, the bundled example imported through the admin API exactly as the Import menu
// sends it — no credentials at all. Every node must come up without a red status (the empty secret
// fields read WECHAT_APP_SECRET, WECHAT_TOKEN, WECHAT_AES_KEY, C4C_USER, C4C_PASSWORD), and a
// follow must get the welcome, the customer and the push. With a variable missing, the status
// names it.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const WebSocket = require('ws');
const { Sandbox } = require('../../dist/sandbox/server');
const { flowEnv, secrets } = require('../../scripts/demo');
const { startNodeRed, startNodeArgs } = require('../../scripts/nr-process');
const { freePort } = require('../helpers/ports');
const { waitFor, sleep } = require('../helpers/wait');

const example = () => JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'examples', 'wechat-c4c.json'), 'utf8'));

/** The statuses the editor would show (Node-RED keeps them retained on the comms socket). */
async function statuses(url) {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/comms`);
  const seen = new Map();
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  ws.on('message', (data) => {
    for (const m of [].concat(JSON.parse(String(data)))) if (/^status\//.test(m.topic)) seen.set(m.topic.slice(7), m.data);
  });
  ws.send(JSON.stringify({ subscribe: 'status/#' }));
  await sleep(1000);
  ws.close();
  return seen;
}

describe('the example imported with no credentials, on the README\'s environment variables', function () {
  this.timeout(120000);
  let sandbox;
  let nr;
  let env;
  const start = async (drop = []) => {
    const s = secrets();
    sandbox = new Sandbox({ port: await freePort(), host: '127.0.0.1', mode: 'safe', webhook: 'http://127.0.0.1:1/wechat', appSecret: s.appSecret, token: s.token, encodingAESKey: s.encodingAESKey, c4cPassword: s.c4cPassword });
    await sandbox.listen();
    sandbox.wechatApi.registerTemplate({ id: 'sandbox-customer-id', kind: 'template' });
    const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wechat-c4c-import-'));
    env = flowEnv(sandbox, s, path.join(userDir, 'dead-letter.jsonl'));
    for (const name of drop) delete env[name];
    const port = await freePort();
    sandbox.wechat.opts.webhook = `http://127.0.0.1:${port}/wechat`;
    // a user directory with the package and no flow: what `npm install ./<tarball>` leaves
    nr = await startNodeRed({
      port, userDir, flows: [], credentials: {}, nodeArgs: startNodeArgs(),
      env: Object.fromEntries(Object.keys(env).map((k) => [k, env[k]]).concat(drop.map((k) => [k, '']))),
      settings: { uiHost: '127.0.0.1', bodyLimit: { limit: 262144, paths: ['/wechat'] }, logging: { console: { level: 'info', metrics: false, audit: false } } },
    });
    const deployed = await fetch(`${nr.url}/flows`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Node-RED-Deployment-Type': 'full' }, body: JSON.stringify(example()) });
    assert.equal(deployed.status, 204, await deployed.text());
    await sleep(1500);
  };
  const stop = async () => {
    if (nr) await nr.stop();
    if (sandbox) await sandbox.close();
    nr = undefined;
    sandbox = undefined;
  };
  afterEach(stop);

  it('deploys with no red status, and a follow gets welcome, customer and push', async () => {
    await start();
    const flow = example();
    assert.ok(flow.every((n) => !n.credentials), 'the example carries no credentials');
    const shown = await statuses(nr.url);
    const red = [...shown].filter(([, s]) => s && s.fill === 'red').map(([id, s]) => `${id}: ${s.text}`);
    assert.deepEqual(red, []);
    assert.match(nr.output.join('\n'), /WECHAT_APP_SECRET/, 'one info line says which secrets come from the environment');
    const openid = 'oImportedExample000000000000';
    const report = await sandbox.act('follow', { openid });
    assert.ok(report.ok, JSON.stringify(report.checks));
    assert.match(report.shown, /欢迎关注/);
    await waitFor(() => sandbox.wechatApi.messages.some((m) => m.touser === openid), { what: 'the push' });
    const customer = sandbox.c4c.customers.find((c) => c.LastName === openid);
    assert.ok(customer);
    assert.match(JSON.stringify(sandbox.wechatApi.messages.find((m) => m.touser === openid).body), new RegExp(customer.CustomerID));
  });

  it('a variable not set: the statuses name it', async () => {
    await start(['WECHAT_APP_SECRET', 'C4C_PASSWORD']);
    const shown = await statuses(nr.url);
    const texts = [...shown.values()].filter((s) => s && s.fill === 'red').map((s) => s.text);
    assert.ok(texts.some((t) => /WECHAT_APP_SECRET/.test(t)), texts.join(' | '));
    assert.ok(texts.some((t) => /C4C_PASSWORD/.test(t)), texts.join(' | '));
    assert.ok(texts.every((t) => t.length <= 32), texts.join(' | '));
  });
});
