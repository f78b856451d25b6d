'use strict';
// `npm start` under a supervisor. SIGTERM or SIGINT sent to the npm process alone (not
// its process group) stops Node-RED and the sandbox: both ports are free again within 5 s, and
// npm exits. Free ports and a temporary user directory (the script's --port/--sandbox-port/--user-dir).
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { freePort } = require('../helpers/ports');
const { waitFor } = require('../helpers/wait');

const root = path.resolve(__dirname, '..', '..');

function listening(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

for (const signal of ['SIGTERM', 'SIGINT']) {
  describe(`npm start stopped with ${signal}`, function () {
    this.timeout(90000);
    let child;
    let out = '';
    after(() => {
      // Whatever happened, leave nothing behind: the whole group this test started.
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* already gone */ }
    });

    it(`${signal} to the npm process frees both ports and npm exits (well inside a supervisor's 10 s stop timeout)`, async () => {
      const nrPort = await freePort();
      const sandboxPort = await freePort();
      const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wechat-c4c-start-'));
      child = spawn('npm', ['start', '--', '--no-build', '--port', String(nrPort), '--sandbox-port', String(sandboxPort), '--user-dir', userDir], {
        cwd: root, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout.on('data', (c) => { out += c; });
      child.stderr.on('data', (c) => { out += c; });
      let exit = null;
      child.on('exit', (code, sig) => { exit = { code, sig }; });
      await waitFor(() => out.includes('Ctrl-C stops both'), { timeoutMs: 60000, what: `the banner:\n${out}` });
      assert.ok(await listening(nrPort), 'Node-RED listens');
      assert.ok(await listening(sandboxPort), 'the sandbox listens');
      assert.match(out, /AppSecret \S+/); // the sandbox's values, for the admin's own config nodes
      process.kill(child.pid, signal); // npm alone, as a supervisor does
      // before the fix nothing was freed at all (npm's `sh -c` kept the children); the bound is a
      // supervisor's stop timeout, not a speed target
      await waitFor(async () => !(await listening(nrPort)) && !(await listening(sandboxPort)), { timeoutMs: 10000, what: 'both ports free' });
      await waitFor(() => exit, { timeoutMs: 10000, what: 'npm to exit' });
      fs.rmSync(userDir, { recursive: true, force: true });
    });
  });
}
