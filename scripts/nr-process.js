'use strict';
// Start a real Node-RED process (the one in node_modules) with this package installed into a
// fresh user directory and a given flow + credentials. Used by `npm start`, the end-to-end
// tests and the benchmarks.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');

function nodeRedMain() {
  const base = process.env.NODE_RED_PATH ? [path.resolve(process.env.NODE_RED_PATH)] : [root];
  return path.join(path.dirname(require.resolve('node-red/package.json', { paths: base })), 'red.js');
}

/** Prepare a user directory: the package linked in, settings, flows and plain-text credentials. */
function prepareUserDir({ userDir, flows, credentials = {}, settings = {} }) {
  fs.mkdirSync(path.join(userDir, 'node_modules'), { recursive: true });
  const link = path.join(userDir, 'node_modules', 'node-red-contrib-wechat-c4c');
  fs.rmSync(link, { recursive: true, force: true });
  fs.symlinkSync(root, link, 'dir');
  fs.writeFileSync(path.join(userDir, 'package.json'), JSON.stringify({
    name: 'node-red-project', private: true,
    dependencies: { 'node-red-contrib-wechat-c4c': `file:${root}` },
  }, null, 2));
  const allSettings = {
    flowFile: 'flows.json',
    credentialSecret: false, // credentials stay in flows_cred.json inside this git-ignored folder
    uiHost: '127.0.0.1',
    logging: { console: { level: 'warn', metrics: false, audit: false } },
    editorTheme: { tours: false, projects: { enabled: false } },
    diagnostics: { enabled: false },
    telemetry: { enabled: false },
    externalModules: { autoInstall: false, palette: { allowInstall: false }, modules: { allowInstall: false } },
    ...settings,
  };
  const { bodyLimit, ...plain } = allSettings; // bodyLimit: wechat-in's body-limit middleware (a function, not JSON)
  // As the README's settings.js: the editor's app (at /) parses JSON and form bodies on every path
  // before the http in routes, so the middleware goes in front of both.
  const middleware = bodyLimit ? [
    `const wechatBodyLimit = require(${JSON.stringify(path.join(root, 'dist', 'lib', 'http', 'middleware.js'))})(${JSON.stringify(bodyLimit)});`,
    'module.exports.httpAdminMiddleware = wechatBodyLimit;',
    'module.exports.httpNodeMiddleware = wechatBodyLimit;',
    '',
  ].join('\n') : '';
  fs.writeFileSync(path.join(userDir, 'settings.js'), `module.exports = ${JSON.stringify(plain, null, 2)};\n${middleware}`);
  if (flows) fs.writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify(flows, null, 2));
  if (flows) fs.writeFileSync(path.join(userDir, 'flows_cred.json'), JSON.stringify(credentials, null, 2));
}

function get(url) {
  return new Promise((resolve) => {
    const req = http.get(url, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); });
    req.on('error', () => resolve(0));
    req.setTimeout(2000, () => { req.destroy(); resolve(0); });
  });
}

/**
 * The Node flags `npm start` runs Node-RED with: a 512 MB heap limit. V8 sizes the garbage it
 * lets pile up from that limit: with a limit of 2 GB or more (Node's default on a machine with
 * 8 GB of RAM or more) the old generation may grow to about 4x the live heap before a major GC,
 * below 2 GB to 1.3-2x. Under a webhook burst that is the difference between about +60 and +115 MB
 * of RSS for the same work (docs/security.md, "The soak"). `--max-old-space-size` (or
 * `--max_old_space_size`) in NODE_OPTIONS wins (nothing is added then).
 */
const START_HEAP_MB = 512;
function startNodeArgs(env = process.env) {
  return /--max[-_]old[-_]space[-_]size/.test(env.NODE_OPTIONS || '') ? [] : [`--max-old-space-size=${START_HEAP_MB}`];
}

/**
 * Start Node-RED. Resolves once its HTTP server answers. `readyPath` is polled (default: the
 * admin root). Output is kept (last 200 lines) for diagnostics; `stdio: 'inherit'` shows it.
 */
async function startNodeRed({ port, userDir, flows, credentials, settings, env = {}, nodeArgs = [], inherit = false, readyPath = '/', timeoutMs = 60000, nodeBinary = process.env.NODE_RED_NODE || process.execPath }) {
  const dir = userDir || fs.mkdtempSync(path.join(os.tmpdir(), 'wechat-c4c-nr-'));
  prepareUserDir({ userDir: dir, flows, credentials, settings });
  const args = [...nodeArgs, nodeRedMain(), '--userDir', dir, '--port', String(port), '--settings', path.join(dir, 'settings.js')];
  const child = spawn(nodeBinary, args, { env: { ...process.env, ...env }, stdio: inherit ? 'inherit' : ['ignore', 'pipe', 'pipe'] });
  const output = [];
  const keep = (chunk) => {
    for (const line of String(chunk).split('\n')) if (line) output.push(line);
    if (output.length > 200) output.splice(0, output.length - 200);
  };
  if (!inherit) {
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
  }
  let exited = null;
  child.on('exit', (code, signal) => { exited = { code, signal }; });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`Node-RED exited (${JSON.stringify(exited)}):\n${output.join('\n')}`);
    const status = await get(url + readyPath);
    if (status > 0 && status < 500) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  if (Date.now() >= deadline) {
    child.kill('SIGKILL');
    throw new Error(`Node-RED did not start within ${timeoutMs} ms:\n${output.join('\n')}`);
  }
  return {
    url,
    userDir: dir,
    child,
    output,
    stop: (killAfterMs = 5000) => new Promise((resolve) => {
      if (exited) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      setTimeout(() => { if (!exited) child.kill('SIGKILL'); }, killAfterMs).unref();
    }),
  };
}

module.exports = { startNodeRed, startNodeArgs, START_HEAP_MB, prepareUserDir, nodeRedMain };
