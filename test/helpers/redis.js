'use strict';
/** Starts Debian's redis-server on a free port, without persistence; stop() ends it. */
const { spawn } = require('node:child_process');
const net = require('node:net');

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

function waitForPort(port, timeoutMs = 10000) {
  const until = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const sock = net.connect(port, '127.0.0.1');
      sock.once('connect', () => { sock.end(); resolve(); });
      sock.once('error', () => {
        sock.destroy();
        if (Date.now() > until) reject(new Error(`redis-server did not listen on ${port}`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

async function startRedis({ port, args = [] } = {}) {
  const p = port || await freePort();
  const proc = spawn('redis-server', ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((r) => proc.once('exit', r));
  try {
    await waitForPort(p);
  } catch (e) {
    proc.kill('SIGKILL');
    throw new Error(`${e.message}: ${stderr}`);
  }
  return {
    port: p,
    url: `redis://127.0.0.1:${p}`,
    /** SIGSTOP: Redis hangs (connections stay open, nothing answers); resume() with SIGCONT. */
    pause() { proc.kill('SIGSTOP'); },
    resume() { proc.kill('SIGCONT'); },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGCONT');
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
}

module.exports = { startRedis, freePort, waitForPort };
