'use strict';
// A fresh Node-RED with the packed tarball, following only the README: `npm pack`, `npm install
// ./node-red-contrib-wechat-c4c-<version>.tgz` in an empty user directory, the settings.js block
// of the README's checklist (taken from the README itself), the README's environment variables,
// the example imported as the Import menu sends it — and a follow gets welcome, customer and push.
const assert = require('node:assert/strict');
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Sandbox } = require('../../dist/sandbox/server');
const { flowEnv, secrets } = require('../../scripts/demo');
const { nodeRedMain, startNodeArgs } = require('../../scripts/nr-process');
const { freePort } = require('../helpers/ports');
const { waitFor, sleep } = require('../helpers/wait');

const root = path.resolve(__dirname, '..', '..');
const npm = (args, cwd) => execFileSync('npm', args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' } });

describe('the packed tarball in a fresh Node-RED, set up as the README says', function () {
  this.timeout(240000);
  let dir;
  let sandbox;
  let child;
  after(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => { child.once('exit', r); setTimeout(r, 5000); });
    }
    if (sandbox) await sandbox.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('installs from the tarball, takes the README\'s settings.js block, imports the example and serves a follow', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wechat-c4c-tarball-'));
    // `npm pack` (its prepack builds), then the install the README shows, from npm's cache where it can
    // (the build already ran: npm test builds first; the README's `npm pack` runs it as prepack)
    const [{ filename }] = JSON.parse(npm(['pack', '--json', '--ignore-scripts', '--pack-destination', dir], root));
    const userDir = path.join(dir, 'node-red');
    fs.mkdirSync(userDir);
    fs.writeFileSync(path.join(userDir, 'package.json'), JSON.stringify({ name: 'node-red-project', private: true }));
    npm(['install', '--prefer-offline', '--no-audit', '--no-fund', path.join(dir, filename)], userDir);
    const installed = path.join(userDir, 'node_modules', 'node-red-contrib-wechat-c4c');
    assert.ok(fs.existsSync(path.join(installed, 'dist', 'nodes', 'wechat-in', 'wechat-in.js')));
    assert.ok(!fs.lstatSync(installed).isSymbolicLink(), 'a real install, not a link to the repository');
    assert.ok(fs.existsSync(path.join(installed, 'docs', 'security.md')), 'the README\'s links work inside the package');

    // settings.js: the README's block as it stands, plus what any test needs (port, no projects)
    const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
    const block = /```js\n(\/\/ settings\.js\n[\s\S]*?)```/.exec(readme);
    assert.ok(block, 'the README shows a settings.js block');
    const code = block[1].replace('// ... your other settings ...', `uiHost: '127.0.0.1', flowFile: 'flows.json', credentialSecret: false, logging: { console: { level: 'info' } }, editorTheme: { tours: false, projects: { enabled: false } }, diagnostics: { enabled: false }, telemetry: { enabled: false },`);
    fs.writeFileSync(path.join(userDir, 'settings.js'), code);

    const s = secrets();
    const port = await freePort();
    sandbox = new Sandbox({ port: await freePort(), host: '127.0.0.1', mode: 'safe', webhook: `http://127.0.0.1:${port}/wechat`, appSecret: s.appSecret, token: s.token, encodingAESKey: s.encodingAESKey, c4cPassword: s.c4cPassword });
    await sandbox.listen();
    const env = flowEnv(sandbox, s, path.join(userDir, 'dead-letter.jsonl'));
    child = spawn(process.env.NODE_RED_NODE || process.execPath, [...startNodeArgs(), nodeRedMain(), '--userDir', userDir, '--port', String(port), '--settings', path.join(userDir, 'settings.js')], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const output = [];
    child.stdout.on('data', (c) => output.push(String(c)));
    child.stderr.on('data', (c) => output.push(String(c)));
    const url = `http://127.0.0.1:${port}`;
    await waitFor(() => fetch(`${url}/settings`).then((r) => r.ok, () => false), { timeoutMs: 60000, what: `Node-RED up:\n${output.join('')}` });
    const nodes = await (await fetch(`${url}/nodes`, { headers: { Accept: 'application/json' } })).json();
    assert.ok(nodes.some((n) => n.module === 'node-red-contrib-wechat-c4c' && n.types.includes('wechat-in')), 'the package\'s nodes are loaded');

    // Import > Examples reads the installed package's examples/
    const example = JSON.parse(fs.readFileSync(path.join(installed, 'examples', 'wechat-c4c.json'), 'utf8'));
    const deployed = await fetch(`${url}/flows`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Node-RED-Deployment-Type': 'full' }, body: JSON.stringify(example) });
    assert.equal(deployed.status, 204);
    await sleep(1500);
    const openid = 'oFromTheTarball0000000000000';
    const report = await sandbox.act('follow', { openid });
    assert.ok(report.ok, `${JSON.stringify(report.checks)}\n${output.join('')}`);
    await waitFor(() => sandbox.wechatApi.messages.some((m) => m.touser === openid), { what: 'the push' });
    assert.equal(sandbox.c4c.customers.filter((c) => c.LastName === openid).length, 1);
    // the README's middleware is in front of the webhook: a 1 MiB body (under Node-RED's own 5 MB
    // parser limit, over the middleware's 256 KiB) is refused by it, by its Content-Length, unread
    const big = await new Promise((resolve) => {
      const req = require('node:http').request(`${url}/wechat?signature=${'0'.repeat(40)}&timestamp=${Math.floor(Date.now() / 1000)}&nonce=1`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Length': String(2 ** 20) } }, (res) => {
        let text = '';
        res.on('data', (c) => { text += c; });
        res.on('end', () => resolve({ status: res.statusCode, text }));
      });
      req.on('error', (err) => resolve({ error: err.code }));
      req.write('x'.repeat(1000));
    });
    assert.equal(big.status, 413, JSON.stringify(big));
    assert.match(big.text, /body larger than 262144 bytes/, 'the middleware\'s answer, not Node-RED\'s parser');
  });
});
