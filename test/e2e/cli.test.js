'use strict';
// The wechat-c4c-sandbox command (package bin): options, the printed addresses, a working server.
const assert = require('node:assert/strict');
const { spawn, spawnSync } = require('node:child_process');
const path = require('node:path');
const { freePort } = require('../helpers/ports');
const { waitFor } = require('../helpers/wait');

const BIN = path.join(__dirname, '..', '..', 'bin', 'wechat-c4c-sandbox.js');

describe('wechat-c4c-sandbox CLI', function () {
  this.timeout(30000);

  it('--help lists the options; a bad option exits 2 with a message', () => {
    const help = spawnSync(process.execPath, [BIN, '--help'], { encoding: 'utf8' });
    assert.equal(help.status, 0);
    for (const flag of ['--port', '--webhook', '--mode']) assert.match(help.stdout, new RegExp(flag));
    // the defaults an admin needs to fill the config nodes (sandbox-only values)
    for (const v of ['sandbox-app-secret', 'sandboxtoken', 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG', 'SANDBOX_USER', 'sandbox-password']) assert.ok(help.stdout.includes(v), v);
    const bad = spawnSync(process.execPath, [BIN, '--mode', 'loud'], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--mode is plain, compatible, safe/);
  });

  it('--port --webhook --mode start a sandbox that serves the page, the simulators, and stops on SIGTERM', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [BIN, '--port', String(port), '--webhook', 'http://127.0.0.1:9/wechat', '--mode', 'plain'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c) => { out += c; });
    try {
      await waitFor(() => out.includes('Ctrl-C'), { what: 'the banner' });
      assert.match(out, new RegExp(`http://127.0.0.1:${port}`));
      assert.match(out, /plain mode/);
      assert.match(out, /AppSecret\s+sandbox-app-secret/);
      assert.match(out, /password sandbox-password/);
      const page = await fetch(`http://127.0.0.1:${port}/`).then((r) => r.text());
      assert.match(page, /WeChat × SAP C4C/);
      const state = await fetch(`http://127.0.0.1:${port}/api/state`).then((r) => r.json());
      assert.equal(state.config.mode, 'plain');
      assert.equal(state.config.webhook, 'http://127.0.0.1:9/wechat');
      const token = await fetch(`http://127.0.0.1:${port}/cgi-bin/token?grant_type=client_credential&appid=x&secret=y`).then((r) => r.json());
      assert.equal(token.errcode, 40013);
      const c4c = await fetch(`http://127.0.0.1:${port}/sap/c4c/odata/v1/c4codataapi/`);
      assert.equal(c4c.status, 401);
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
    }
  });
});
