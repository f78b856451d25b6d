'use strict';
/**
 * Several real Node-RED processes with the bundled flow on one Redis, behind Debian's nginx, against
 * the sandbox — what an admin runs in production, on free ports and temporary directories:
 *
 *   sandbox's simulated WeChat server ──► nginx (round robin) ──► Node-RED 1..N ──► Redis
 *                                                                     │
 *   sandbox's WeChat API and C4C  ◄───────────────────────────────────┘
 *
 * Each instance has its own user directory and dead-letter file (DEAD_LETTER_FILE) and the same
 * environment as `npm start` (scripts/demo.js) plus REDIS_URL. `redis: false` leaves REDIS_URL
 * unset, also when this process has it (the bundled flow then keeps everything in memory, as
 * `npm start` does).
 *
 * Redis runs with an append-only file (`appendfsync always`) in a temp dir, as a production Redis
 * would, so restartRedis() models a Redis restart (a crash and a supervisor): the server is gone
 * for `downMs`, then comes back on the same port with its data. `restartRedis({ keepData: false })`
 * brings it back empty instead.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Sandbox } = require('../../dist/sandbox/server');
const { simDecrypt, simParseXml } = require('../../dist/sandbox/wechat-crypto');
const { flowEnv, secrets, startFlowNodeRed, waitFlowReady } = require('../../scripts/demo');
const { startRedis } = require('./redis');
const { freePort } = require('./ports');
const { startNginx } = require('./nginx');
const { sleep } = require('./wait');

const root = path.resolve(__dirname, '..', '..');
const host = '127.0.0.1';

/** The bundled flow, with `patch(flows)` applied to a copy (the file itself is never changed). */
function bundledFlow(patch) {
  const flows = JSON.parse(fs.readFileSync(path.join(root, 'flows', 'wechat-c4c.json'), 'utf8'));
  if (patch) patch(flows);
  return flows;
}

/**
 * Classic token mode for the account, set on the copy (what an admin does in the editor). A flow
 * that takes tokenMode from the environment is left as it is: pass WECHAT_TOKEN_MODE in opts.env.
 */
function classicTokenMode(flows) {
  const account = flows.find((n) => n.id === 'wc.account');
  if (account && !/^\$\{\w+\}$/.test(String(account.tokenMode))) account.tokenMode = 'classic';
}

/** POST a signed WeChat request to a URL; resolves { status, body } (never rejects). */
async function postWechat(url, { query, body }, timeoutMs = 10000) {
  try {
    const res = await fetch(`${url}${url.includes('?') ? '&' : '?'}${query}`, {
      method: 'POST', body, headers: { 'Content-Type': 'text/xml', 'User-Agent': 'Mozilla/4.0 (cluster test)' },
      signal: AbortSignal.timeout(timeoutMs),
    });
    return { status: res.status, body: await res.text() };
  } catch (err) {
    return { status: err.name === 'TimeoutError' ? 'timeout' : 'error', body: '', error: err.message };
  }
}


/**
 * startCluster({ instances: 3, redis: true, mode: 'safe', tokenMode: 'stable'|'classic', env,
 * flowPatch, wechatTimeoutMs, sandboxPort? }) → the cluster (see the returned object).
 */
async function startCluster(opts = {}) {
  const n = opts.instances ?? 3;
  const useRedis = opts.redis !== false;
  const mode = opts.mode ?? 'safe';
  const s = { ...secrets(), ...(opts.secrets || {}) };
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'wechat-c4c-cluster-'));
  const redisDir = path.join(base, 'redis');
  fs.mkdirSync(redisDir);
  const redisArgs = ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', redisDir];
  const cleanup = [];
  const c = { base, secrets: s, instances: [], redis: undefined, nginx: undefined, sandbox: undefined };
  try {
    if (useRedis) c.redis = await startRedis({ args: redisArgs });
    const nginxPort = await freePort();
    const sandbox = new Sandbox({
      port: opts.sandboxPort ?? await freePort(), host, mode, webhook: `http://${host}:${nginxPort}/wechat`,
      appSecret: s.appSecret, token: s.token, encodingAESKey: s.encodingAESKey, c4cPassword: s.c4cPassword,
      eventPassword: s.eventPassword, timeoutMs: opts.wechatTimeoutMs,
    });
    await sandbox.listen();
    cleanup.push(() => sandbox.close());
    c.sandbox = sandbox;
    // Every call of WeChat's token APIs, with its time (the sandbox counts them; this says when).
    c.tokenCalls = [];
    /** What the harness did, when (kill, restart, Redis restart): to read the token calls against. */
    c.events = [];
    const event = (what) => c.events.push({ at: new Date().toISOString(), what });
    const handle = sandbox.wechatApi.handle.bind(sandbox.wechatApi);
    sandbox.wechatApi.handle = (req, res) => {
      const p = (req.url || '').split('?')[0];
      if (p === '/cgi-bin/token' || p === '/cgi-bin/stable_token') c.tokenCalls.push({ at: new Date().toISOString(), api: p });
      return handle(req, res);
    };
    sandbox.wechatApi.registerTemplate({ id: 'sandbox-customer-id', kind: 'template' });
    const o = sandbox.opts;
    const flows = bundledFlow((f) => {
      if (opts.tokenMode === 'classic') classicTokenMode(f);
      if (opts.flowPatch) opts.flowPatch(f);
    });
    const ports = [];
    for (let i = 0; i < n; i++) ports.push(await freePort());
    const startInstance = async (i) => {
      const userDir = path.join(base, `nr${i + 1}`);
      fs.mkdirSync(userDir, { recursive: true });
      const deadLetterFile = path.join(userDir, 'dead-letter.jsonl');
      const env = {
        ...flowEnv(sandbox, s, deadLetterFile),
        ...(useRedis ? { REDIS_URL: c.redis.url } : {}),
        ...(opts.env || {}),
      };
      // Without Redis: unset, whatever the calling shell has (unset or empty both mean memory).
      if (!useRedis) env.REDIS_URL = undefined;
      const nr = await startFlowNodeRed({ port: ports[i], userDir, flows, env, settings: opts.settings, nodeBinary: opts.nodeBinary });
      await waitFlowReady(nr.url, s.token).catch(async (err) => {
        await nr.stop(1000);
        throw new Error(`${err.message}:\n${nr.output.join('\n')}`);
      });
      const inst = { index: i, name: `nr${i + 1}`, port: ports[i], url: nr.url, userDir, deadLetterFile, nr, pid: nr.child.pid, alive: true };
      nr.child.once('exit', () => { inst.alive = false; });
      c.instances[i] = inst;
      event(`${inst.name} started (pid ${inst.pid})`);
      return inst;
    };
    // every start settles before a failure is thrown: none is left running behind the error
    const starts = await Promise.allSettled(ports.map((_, i) => startInstance(i)));
    const failed = starts.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    c.nginx = await startNginx({ backends: ports.map((p) => `${host}:${p}`), port: nginxPort });

    Object.assign(c, {
      url: c.nginx.url,
      webhook: `${c.nginx.url}/wechat`,
      /** SIGKILL instance i (0-based): no shutdown, no close handlers; resolves once it is gone. */
      async kill(i) {
        const inst = c.instances[i];
        if (!inst.alive) return;
        const gone = new Promise((r) => inst.nr.child.once('exit', r));
        inst.nr.child.kill('SIGKILL');
        await gone;
        event(`${inst.name} SIGKILLed`);
      },
      /** Start instance i again (same port, user directory and dead-letter file). */
      async restart(i) {
        const inst = c.instances[i];
        if (inst.alive) await inst.nr.stop();
        return startInstance(i);
      },
      /** Redis goes away (SIGKILL) for `downMs`, then comes back on the same port (with its data unless keepData is false). */
      async restartRedis({ downMs = 2000, keepData = true } = {}) {
        const port = c.redis.port;
        await c.redis.stop();
        event('Redis killed');
        if (!keepData) {
          fs.rmSync(redisDir, { recursive: true, force: true });
          fs.mkdirSync(redisDir);
        }
        await sleep(downMs);
        c.redis = await startRedis({ port, args: redisArgs });
        event(`Redis back${keepData ? ' (with its data)' : ' (empty)'}`);
        return c.redis;
      },
      /** Every dead-letter record of every instance: { instance, ...record }. */
      deadLetters() {
        const out = [];
        for (const inst of c.instances) {
          if (!fs.existsSync(inst.deadLetterFile)) continue;
          for (const line of fs.readFileSync(inst.deadLetterFile, 'utf8').split('\n')) {
            if (!line.trim()) continue;
            try {
              out.push({ instance: inst.name, ...JSON.parse(line) });
            } catch {
              out.push({ instance: inst.name, unparsable: line });
            }
          }
        }
        return out;
      },
      /** A follow event as WeChat would sign (and encrypt) it; the follower's push window is opened as WeChat would. */
      signedFollow(openid) {
        sandbox.wechatApi.interact(o.appId, openid, 'subscribe');
        const fields = sandbox.wechat.event(openid, 'subscribe', { EventKey: '' });
        return { fields, ...sandbox.wechat.sign(fields) };
      },
      /** POST a signed request straight to instance i (bypassing nginx) or to nginx (i = 'lb'). */
      deliverTo(i, signed, timeoutMs) {
        const url = i === 'lb' ? c.webhook : `${c.instances[i].url}/wechat`;
        return postWechat(url, signed, timeoutMs);
      },
      /** Decrypt (safe mode) and parse a passive reply body. */
      openReply(body) {
        if (!body || body === 'success') return body;
        let xml = body;
        if (sandbox.wechat.opts.mode === 'safe') xml = simDecrypt(s.encodingAESKey, o.appId, String(simParseXml(body).Encrypt));
        return simParseXml(xml);
      },
      customersOf: (openid) => sandbox.c4c.customers.filter((x) => x.LastName === openid),
      pushesTo: (openid) => sandbox.wechatApi.messages.filter((m) => m.touser === openid),
      /** The last lines of every instance's output, for a failure message. */
      output(lines = 40) {
        return c.instances.map((inst) => `--- ${inst.name} (${inst.alive ? 'alive' : 'dead'}) ---\n${inst.nr.output.slice(-lines).join('\n')}`).join('\n');
      },
      async stop() {
        await c.nginx?.stop().catch(() => {});
        await Promise.all(c.instances.map((inst) => inst && inst.alive && inst.nr.stop(3000)));
        for (const f of cleanup.reverse()) await f().catch(() => {});
        await c.redis?.stop().catch(() => {});
        if (!process.env.KEEP_CLUSTER_DIR) fs.rmSync(base, { recursive: true, force: true });
      },
    });
    return c;
  } catch (err) {
    await c.nginx?.stop().catch(() => {});
    await Promise.all(c.instances.map((inst) => inst && inst.nr.stop(1000)));
    for (const f of cleanup.reverse()) await f().catch(() => {});
    await c.redis?.stop().catch(() => {});
    if (!process.env.KEEP_CLUSTER_DIR) fs.rmSync(base, { recursive: true, force: true });
    throw err;
  }
}

module.exports = { startCluster, postWechat, bundledFlow, classicTokenMode };
