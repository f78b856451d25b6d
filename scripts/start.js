#!/usr/bin/env node
'use strict';
// npm start: build, then the sandbox and Node-RED with the bundled flow, offline.
// SIGINT (Ctrl-C) or SIGTERM/SIGHUP (a supervisor) stops Node-RED and the sandbox and frees both
// ports; if Node-RED dies, the sandbox is stopped too. npm runs scripts through `sh -c` and
// forwards SIGINT/SIGTERM to that shell, which waits instead of passing them on: package.json's
// `exec node scripts/start.js` makes this process the shell, so the signals arrive here. And this
// process also stops when its parent goes away (it is re-parented), whatever killed npm.
// (Windows' cmd has no `exec`: there run `node scripts/start.js`.)
//
//   npm start [-- --plain | --compatible] [--reset] [--port 1880] [--sandbox-port 1881] [--user-dir DIR] [--no-build]
//   (or NODE_RED_PORT, SANDBOX_PORT, WECHAT_C4C_USER_DIR in the environment)
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
function option(name, envName) {
  const i = args.indexOf(name);
  if (i >= 0 && args[i + 1] !== undefined) return args[i + 1];
  const inline = args.find((a) => a.startsWith(`${name}=`));
  if (inline) return inline.slice(name.length + 1);
  return process.env[envName];
}
const port = (v, dflt) => {
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    console.error(`not a port: ${v}`);
    process.exit(2);
  }
  return n;
};
const mode = flag('--plain') ? 'plain' : flag('--compatible') ? 'compatible' : 'safe';
const reset = flag('--reset');
const nrPort = port(option('--port', 'NODE_RED_PORT'), 1880);
const sandboxPort = port(option('--sandbox-port', 'SANDBOX_PORT'), 1881);
const userDir = option('--user-dir', 'WECHAT_C4C_USER_DIR');

// Signals before the pipeline is up: remember them and stop as soon as it is.
let demo;
let stopping = false;
let exitCode = 0;
async function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  exitCode = code;
  if (!demo) return; // still starting: stopped right after the start (below)
  console.log('\nstopping Node-RED and the sandbox…');
  const hard = setTimeout(() => process.exit(exitCode || 1), 4500);
  try {
    await demo.stop(3000);
  } finally {
    clearTimeout(hard);
    process.exit(exitCode);
  }
}
process.on('SIGINT', () => { void stop(0); });
process.on('SIGTERM', () => { void stop(0); });
process.on('SIGHUP', () => { void stop(0); });
const parent = process.ppid;
setInterval(() => { if (process.ppid !== parent) void stop(0); }, 200).unref();

if (!flag('--no-build')) {
  const built = spawnSync(process.execPath, [path.join(__dirname, 'build.js')], { stdio: 'inherit' });
  if (built.status !== 0) process.exit(built.status ?? 1);
  if (stopping) process.exit(0);
}
const { startDemo } = require('./demo');

startDemo({ mode, inherit: true, keepUserFlow: !reset, nrPort, sandboxPort, userDir }).then((d) => {
  demo = d;
  if (stopping) {
    stopping = false;
    return stop(exitCode);
  }
  const o = d.sandbox.opts;
  console.log(`
  ┌───────────────────────────────────────────────────────────────┐
    Node-RED editor:  ${d.editorUrl}
    Sandbox page:     ${d.sandboxUrl}   (tap 关注 / Follow)
    Mode:             ${mode} (npm start -- --plain for plaintext, -- --compatible for 兼容模式)
    User directory:   ${d.userDir}
    Dead letters:     ${d.deadLetterFile}
    Sandbox account (sandbox-only values, for your own config nodes):
      AppID ${o.appId}   AppSecret ${d.secrets.appSecret}
      Token ${d.secrets.token}   EncodingAESKey ${d.secrets.encodingAESKey}
      C4C   ${d.sandboxUrl.replace(/\/$/, '')}  user ${o.c4cUser}  password ${d.secrets.c4cPassword}
      Mashup (agent replies → /c4c/agent-reply)  user ${d.env.C4C_REPLY_USER}  password ${d.secrets.replyPassword}
      C4C events → ${o.eventEndpoint}  (Basic ${o.eventUser} / ${d.secrets.eventPassword})
  └───────────────────────────────────────────────────────────────┘
  Ctrl-C stops both.
`);
  d.nr.child.on('exit', (code) => {
    if (stopping) return;
    console.error(`Node-RED exited (${code}); stopping the sandbox`);
    stopping = true;
    d.sandbox.close().then(() => process.exit(1));
  });
}, (err) => {
  console.error(err.message || err);
  if (/EADDRINUSE/.test(String(err && err.message))) console.error(`A port is taken: is another \`npm start\` (${nrPort}, ${sandboxPort}) still running?`);
  process.exit(1);
});
