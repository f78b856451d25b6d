'use strict';
/** Starts redis-server (test/helpers/programs.js finds it) on a free port, without persistence; stop() ends it. */
const { spawn } = require('node:child_process');
const { freePort, waitForPort } = require('./ports');
const { programPath } = require('./programs');

async function startRedis({ port, args = [] } = {}) {
  const p = port || await freePort();
  const proc = spawn(programPath('redis-server'), ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((r) => proc.once('exit', r));
  try {
    await waitForPort(p, { what: 'redis-server' });
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

module.exports = { startRedis };
