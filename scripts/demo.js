'use strict';
// The whole pipeline offline: the sandbox (WeChat API + C4C + simulated WeChat server + page)
// and a Node-RED process with this package and the bundled flow, wired to each other through
// environment variables. Used by `npm start`, the end-to-end and browser tests and the
// pipeline benchmark.
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { Sandbox } = require('../dist/sandbox/server');
const { startNodeRed, startNodeArgs } = require('./nr-process');

const root = path.resolve(__dirname, '..');

/** Fresh sandbox secrets for every run: nothing secret is committed or reused. */
function secrets() {
  const b64 = crypto.randomBytes(32).toString('base64').replace(/=+$/, '');
  return {
    appSecret: crypto.randomBytes(16).toString('hex'),
    token: crypto.randomBytes(12).toString('hex'),
    encodingAESKey: b64.slice(0, 43),
    c4cPassword: crypto.randomBytes(12).toString('base64url'),
    replyPassword: crypto.randomBytes(12).toString('base64url'),
    eventPassword: crypto.randomBytes(12).toString('base64url'),
  };
}

/** The bundled flow's credentials point at environment variables; the values come with the process. */
const CREDENTIALS = {
  'wc.account': { appSecret: '${WECHAT_APP_SECRET}', token: '${WECHAT_TOKEN}', encodingAESKey: '${WECHAT_AES_KEY}' },
  'wc.c4c': { username: '${C4C_USER}', password: '${C4C_PASSWORD}' },
  'wc.reply': { username: '${C4C_REPLY_USER}', password: '${C4C_REPLY_PASSWORD}' },
  'wc.events': { username: '${C4C_EVENT_USER}', password: '${C4C_EVENT_PASSWORD}' },
};

/** Conversations (issue 22): the sandbox tenant's WeChat channel and the mashup's Basic user. */
const SOCIAL = { channel: '008', provider: 'WECHAT_SANDBOX', replyUser: 'C4C_MASHUP' };

/** The environment the bundled flow reads, pointing at a running sandbox. */
function flowEnv(sandbox, s, deadLetterFile) {
  return {
    WECHAT_APPID: sandbox.opts.appId,
    WECHAT_API_BASE: sandbox.url,
    WECHAT_APP_SECRET: s.appSecret,
    WECHAT_TOKEN: s.token,
    WECHAT_AES_KEY: s.encodingAESKey,
    C4C_BASE_URL: sandbox.url,
    C4C_USER: sandbox.opts.c4cUser,
    C4C_PASSWORD: s.c4cPassword,
    // the Basic credentials the C4C simulator sends with its change events to /c4c/events
    C4C_EVENT_USER: sandbox.opts.eventUser,
    C4C_EVENT_PASSWORD: s.eventPassword,
    DEAD_LETTER_FILE: deadLetterFile,
    WECHAT_TEMPLATE_ID: 'sandbox-customer-id',
    // The account decides the mode (wechat-config messageMode), as on the 公众平台.
    WECHAT_MESSAGE_MODE: sandbox.opts.mode,
    C4C_SOCIAL_CHANNEL: SOCIAL.channel,
    C4C_SOCIAL_PROVIDER: SOCIAL.provider,
    C4C_REPLY_USER: SOCIAL.replyUser,
    C4C_REPLY_PASSWORD: s.replyPassword,
  };
}

async function startDemo(opts = {}) {
  const nrPort = opts.nrPort ?? 1880;
  const sandboxPort = opts.sandboxPort ?? 1881;
  const host = '127.0.0.1';
  const userDir = path.resolve(opts.userDir ?? path.join(root, '.node-red'));
  fs.mkdirSync(userDir, { recursive: true });
  const s = { ...secrets(), ...(opts.secrets || {}) };
  const sandbox = new Sandbox({
    port: sandboxPort, host, mode: opts.mode ?? 'safe', webhook: `http://${host}:${nrPort}/wechat`,
    appSecret: s.appSecret, token: s.token, encodingAESKey: s.encodingAESKey, c4cPassword: s.c4cPassword,
    eventPassword: s.eventPassword, timeoutMs: opts.wechatTimeoutMs,
  });
  await sandbox.listen();
  // A template message for the push fallback: registered in the simulated account.
  sandbox.wechatApi.registerTemplate({ id: 'sandbox-customer-id', kind: 'template' });
  // The agent console's replies go to the flow's mashup endpoint, as C4C's would.
  Object.assign(sandbox.c4c.social.mashup, { url: `http://${host}:${nrPort}/c4c/agent-reply`, username: SOCIAL.replyUser, password: s.replyPassword });
  const deadLetterFile = opts.deadLetterFile ?? path.join(userDir, 'dead-letter.jsonl');
  const flowFile = path.join(userDir, 'flows.json');
  const keepFlow = opts.keepUserFlow && fs.existsSync(flowFile);
  const flows = keepFlow ? undefined : JSON.parse(fs.readFileSync(path.join(root, 'flows', 'wechat-c4c.json'), 'utf8'));
  if (keepFlow) fs.writeFileSync(path.join(userDir, 'flows_cred.json'), JSON.stringify(CREDENTIALS, null, 2));
  const env = { ...flowEnv(sandbox, s, deadLetterFile), ...(opts.env || {}) };
  let nr;
  try {
    nr = await startFlowNodeRed({ port: nrPort, userDir, flows, env, inherit: opts.inherit, settings: opts.settings, readyPath: opts.readyPath, nodeBinary: opts.nodeBinary });
  } catch (err) {
    await sandbox.close();
    throw err;
  }
  try {
    await waitFlowReady(nr.url, s.token, 30000);
  } catch (err) {
    await nr.stop();
    await sandbox.close();
    throw new Error(`${err.message}:\n${nr.output.join('\n')}`);
  }
  return {
    sandbox, nr, env, userDir, deadLetterFile, secrets: s,
    editorUrl: `${nr.url}/`, sandboxUrl: `${sandbox.url}/`,
    stop: async (killAfterMs) => {
      await Promise.all([nr.stop(killAfterMs), sandbox.close()]);
    },
  };
}

/**
 * Node-RED with the bundled flow's set-up, as `npm start` runs it: the body-limit middleware on
 * /wechat and the heap limit (startNodeArgs). Used by startDemo and the cluster tests alike.
 */
function startFlowNodeRed({ port, userDir, flows, env, settings, inherit, readyPath, nodeBinary }) {
  return startNodeRed({
    port, userDir, flows, credentials: CREDENTIALS, env, inherit,
    settings: { uiHost: '127.0.0.1', bodyLimit: { limit: 262144, paths: ['/wechat'] }, ...(settings || {}) },
    readyPath: readyPath ?? '/', nodeBinary, nodeArgs: startNodeArgs(),
  });
}

/** Resolves once the flow's webhook answers WeChat's URL check (the flow is live); throws after `timeoutMs`. */
async function waitFlowReady(nrUrl, token, timeoutMs = 60000) {
  // Signed as WeChat does, by the sandbox's own crypto (not by lib/, the code being checked).
  const { simSignature } = require('../dist/sandbox/wechat-crypto');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ts = String(Math.floor(Date.now() / 1000));
    const sig = simSignature(token, ts, '1');
    const ok = await fetch(`${nrUrl}/wechat?signature=${sig}&timestamp=${ts}&nonce=1&echostr=ready`).then((r) => r.text(), () => '');
    if (ok === 'ready') return;
    if (Date.now() > deadline) throw new Error(`the bundled flow did not come up on ${nrUrl}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

module.exports = { startDemo, startFlowNodeRed, waitFlowReady, flowEnv, secrets, CREDENTIALS };
