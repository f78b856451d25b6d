'use strict';
// node-red-node-test-helper set up against the Node-RED under test: the devDependency (4.1.x),
// or the one in $NODE_RED_PATH (CI runs the node tests again with Node-RED 5 on Node 22).
const path = require('node:path');
const util = require('node:util');
const helper = require('node-red-node-test-helper');

const base = process.env.NODE_RED_PATH ? [path.resolve(process.env.NODE_RED_PATH)] : [__dirname];
const nodeRedMain = require.resolve('node-red', { paths: base });
helper.init(nodeRedMain);
const fromNodeRed = (p) => require(require.resolve(p, { paths: [path.dirname(nodeRedMain)] }));
const nodeRedVersion = require(require.resolve('node-red/package.json', { paths: base })).version;

const httpIn = fromNodeRed('@node-red/nodes/core/network/21-httpin.js');
// The helper's runtime gives nodes no RED.hooks; the real runtime does (Node-RED's own hooks, the
// ones its nodes trigger onComplete on): hand the same to the nodes under test.
{
  const registryInit = helper._registryUtil.init;
  helper._registryUtil.init = function (runtime) {
    if (!runtime.hooks) runtime.hooks = fromNodeRed('@node-red/util').hooks;
    return registryInit.call(this, runtime);
  };
}
const dist = path.join(__dirname, '..', '..', 'dist', 'nodes');
const ours = (type) => require(path.join(dist, type, `${type}.js`));

/**
 * The express app behind RED.httpNode in the helper's runtime. The helper serves only the admin
 * app, so the tests drive this one with supertest: a real HTTP request through `http in`.
 */
function httpNodeApp() {
  return helper._registryUtil.createNodeApi({}).httpNode;
}

/** Everything the runtime logged, and every status a node set, as text (for secret greps). */
function everythingSaid() {
  const show = (v) => (typeof v === 'string' ? v : v instanceof Error ? `${v.message} ${v.stack}` : util.inspect(v, { depth: 6, breakLength: Infinity }));
  const lines = [];
  if (helper._logSpy) for (const call of helper._logSpy.getCalls()) lines.push(show(call.args[0]));
  for (const name of ['status', 'warn', 'error', 'log']) {
    const spy = helper._NodePrototype[name];
    if (spy && spy.getCalls) for (const call of spy.getCalls()) lines.push(`${name} ${call.thisValue && call.thisValue.id}: ${call.args.map(show).join(' ')}`);
  }
  return lines.join('\n');
}

module.exports = { helper, httpIn, ours, httpNodeApp, everythingSaid, nodeRedVersion, fromNodeRed };
