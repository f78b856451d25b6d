'use strict';
/** Free ports on 127.0.0.1, and waiting for a child process to listen on one. */
const net = require('node:net');

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

/**
 * Resolves once something accepts connections on `port`. `what` names it in the error;
 * `isDead()` (optional) returns a reason when the process that should listen has exited.
 */
function waitForPort(port, { timeoutMs = 10000, what = 'the server', isDead = () => undefined } = {}) {
  const until = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const sock = net.connect(port, '127.0.0.1');
      sock.once('connect', () => { sock.end(); resolve(); });
      sock.once('error', () => {
        sock.destroy();
        const dead = isDead();
        if (dead) reject(new Error(`${what} exited (${dead})`));
        else if (Date.now() > until) reject(new Error(`${what} did not listen on ${port}`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

module.exports = { freePort, waitForPort };
