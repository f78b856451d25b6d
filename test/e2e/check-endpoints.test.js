'use strict';
// The "Test connection" admin endpoints against a real Node-RED process with adminAuth
// and the sandbox: refused without the config node's write permission, success with the right
// values, and a failure with code + translated hint for a wrong AppSecret / wrong C4C password /
// a Tenant URL with the service path in it. The stored credential is used when the dialog sends
// the password placeholder (__PWRD__).
const assert = require('node:assert/strict');
const bcrypt = require('bcryptjs');
const { demo } = require('../helpers/demo');

describe('Test connection endpoints (POST /wechat-c4c/check/*)', function () {
  this.timeout(90000);
  let d;
  const tokens = {};

  before(async () => {
    const hash = bcrypt.hashSync('secret-pass', 8);
    d = await demo({
      settings: {
        adminAuth: {
          type: 'credentials',
          users: [
            { username: 'admin', password: hash, permissions: '*' },
            { username: 'viewer', password: hash, permissions: 'read' },
          ],
        },
      },
    });
    for (const [user, scope] of [['admin', '*'], ['viewer', 'read']]) {
      const r = await fetch(`${d.nr.url}/auth/token`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ client_id: 'node-red-admin', grant_type: 'password', scope, username: user, password: 'secret-pass' }),
      });
      assert.equal(r.status, 200, `login ${user}`);
      tokens[user] = (await r.json()).access_token;
    }
  });
  after(async () => { if (d) await d.stop(); });

  const post = (path, body, user = 'admin', lang = 'en-US') => fetch(`${d.nr.url}/wechat-c4c/check/${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(user ? { Authorization: `Bearer ${tokens[user]}` } : {}) },
    body: JSON.stringify({ lang, ...body }),
  });
  const wechat = () => ({ id: 'wc.account', appId: d.env.WECHAT_APPID, apiBase: d.env.WECHAT_API_BASE, tokenMode: 'stable' });
  const c4c = () => ({ id: 'wc.c4c', baseUrl: d.env.C4C_BASE_URL, servicePath: '/sap/c4c/odata/v1/c4codataapi', username: d.env.C4C_USER });

  it('refuses a caller without a token, and a logged-in user without write permission (Node-RED answers 401)', async () => {
    assert.equal((await post('wechat', { ...wechat(), appSecret: d.env.WECHAT_APP_SECRET }, null)).status, 401);
    // the viewer's token is valid (it may read the flows) but lacks wechat-config.write / c4c-config.write
    const flows = await fetch(`${d.nr.url}/flows`, { headers: { Authorization: `Bearer ${tokens.viewer}` } });
    assert.equal(flows.status, 200);
    assert.equal((await post('wechat', { ...wechat(), appSecret: d.env.WECHAT_APP_SECRET }, 'viewer')).status, 401);
    assert.equal((await post('c4c', { ...c4c(), password: d.env.C4C_PASSWORD }, 'viewer')).status, 401);
  });

  it('wechat: the right AppSecret gets a token; an unchanged password field uses the stored one', async () => {
    const typed = await (await post('wechat', { ...wechat(), appSecret: d.env.WECHAT_APP_SECRET })).json();
    assert.equal(typed.ok, true, JSON.stringify(typed));
    assert.match(typed.message, /access token/);
    const stored = await (await post('wechat', { ...wechat(), appSecret: '__PWRD__' })).json();
    assert.equal(stored.ok, true, JSON.stringify(stored));
  });

  it('wechat: a wrong AppSecret fails with 40125 and the hint, in English and Chinese, without the secret', async () => {
    const en = await (await post('wechat', { ...wechat(), appSecret: 'wrong-secret-123' })).json();
    assert.equal(en.ok, false);
    assert.equal(en.code, '40125');
    assert.match(en.hint, /AppSecret is wrong/);
    assert.doesNotMatch(JSON.stringify(en), /wrong-secret-123/);
    const zh = await (await post('wechat', { ...wechat(), appSecret: 'wrong-secret-123' }, 'admin', 'zh-CN')).json();
    assert.match(zh.message, /失败/);
    assert.match(zh.hint, /AppSecret 错误/);
  });

  it('c4c: the right user reads the service document, CSRF token and $metadata; the stored password works', async () => {
    const typed = await (await post('c4c', { ...c4c(), password: d.env.C4C_PASSWORD })).json();
    assert.equal(typed.ok, true, JSON.stringify(typed));
    const stored = await (await post('c4c', { ...c4c(), password: '__PWRD__' })).json();
    assert.equal(stored.ok, true, JSON.stringify(stored));
  });

  it('a stored or ${VAR} secret is never sent to a host typed into the dialog: the stored AppSecret, password and keys stay home', async () => {
    const http = require('node:http');
    const seen = [];
    const other = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => { seen.push(`${req.method} ${req.url} ${req.headers.authorization || ''} ${body}`); res.end('{}'); });
    });
    await new Promise((r) => other.listen(0, '127.0.0.1', r));
    const elsewhere = `http://127.0.0.1:${other.address().port}`;
    try {
      const w = await (await post('wechat', { ...wechat(), apiBase: elsewhere, appSecret: '__PWRD__' })).json();
      assert.equal(w.ok, false);
      assert.equal(w.code, 'STORED_SECRET_OTHER_HOST');
      assert.match(w.message, /type it to test another address/);
      const c = await (await post('c4c', { ...c4c(), baseUrl: elsewhere, password: '__PWRD__' })).json();
      assert.equal(c.ok, false);
      assert.equal(c.code, 'STORED_SECRET_OTHER_HOST');
      assert.deepEqual(seen, [], 'the other host was called');
      // a typed secret may go anywhere: the admin typed it for that host
      await (await post('wechat', { ...wechat(), apiBase: elsewhere, appSecret: 'typed-for-elsewhere' })).json();
      assert.equal(seen.length, 1);
      assert.doesNotMatch(seen.join('\n'), new RegExp(d.env.WECHAT_APP_SECRET));
      // a ${VAR} secret is the server's environment: it does not go to a typed host either
      seen.length = 0;
      const we = await (await post('wechat', { ...wechat(), apiBase: elsewhere, appSecret: '${WECHAT_APP_SECRET}' })).json();
      assert.equal(we.code, 'STORED_SECRET_OTHER_HOST');
      const ce = await (await post('c4c', { ...c4c(), baseUrl: elsewhere, password: '${C4C_PASSWORD}' })).json();
      assert.equal(ce.code, 'STORED_SECRET_OTHER_HOST');
      assert.deepEqual(seen, [], 'an environment secret went to a typed host');
      // nor in any other field that travels to the host: path, language (a header), AppID, user
      const leaks = [
        ['c4c', { ...c4c(), baseUrl: elsewhere, password: 'typed', servicePath: '${C4C_PASSWORD}' }],
        ['c4c', { ...c4c(), baseUrl: elsewhere, password: 'typed', language: '${WECHAT_APP_SECRET}' }],
        ['c4c', { ...c4c(), baseUrl: elsewhere, password: 'typed', username: '${WECHAT_TOKEN}' }],
        ['wechat', { ...wechat(), apiBase: elsewhere, appSecret: 'typed', appId: '${WECHAT_AES_KEY}' }],
      ];
      for (const [kind, body] of leaks) {
        const r = await (await post(kind, body)).json();
        assert.equal(r.code, 'STORED_SECRET_OTHER_HOST', JSON.stringify(body));
      }
      assert.deepEqual(seen, [], 'a ${VAR} in a path, header or AppID went to a typed host');
      // ... but it does go to the deployed host, and to an address that is itself ${VAR}
      const home = await (await post('c4c', { ...c4c(), password: '${C4C_PASSWORD}' })).json();
      assert.equal(home.ok, true, JSON.stringify(home));
      const envHost = await (await post('c4c', { ...c4c(), id: 'not-deployed', baseUrl: '${C4C_BASE_URL}', password: '${C4C_PASSWORD}' })).json();
      assert.equal(envHost.ok, true, JSON.stringify(envHost));
    } finally {
      await new Promise((r) => other.close(r));
    }
  });

  it('c4c: $metadata read as the nodes read it ($filter=<EntityType>,…); a tenant that refuses it passes with the full $metadata', async () => {
    const config = (body) => fetch(`${d.sandboxUrl}__sim/c4c/config`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    const filtered = await (await post('c4c', { ...c4c(), password: d.env.C4C_PASSWORD })).json();
    assert.equal(filtered.ok, true, JSON.stringify(filtered));
    assert.match(filtered.message, /^Connected: service document, \$metadata and CSRF token OK$/);
    await config({ metadataFilter: 'refuse' });
    try {
      const full = await (await post('c4c', { ...c4c(), password: d.env.C4C_PASSWORD })).json();
      assert.equal(full.ok, true, JSON.stringify(full));
      assert.match(full.message, /the tenant did not answer \$metadata\?\$filter=, so the nodes read the full \$metadata once per deploy/);
      const zh = await (await post('c4c', { ...c4c(), password: d.env.C4C_PASSWORD }, 'admin', 'zh-CN')).json();
      assert.match(zh.message, /完整的 \$metadata/);
    } finally {
      await config({ metadataFilter: 'subset' });
    }
  });

  it('c4c: a technical user (no CSRF token) passes, as it does for the nodes; a login page does not', async () => {
    const faults = (body) => fetch(`${d.sandboxUrl}__sim/c4c/faults`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    await faults({ technicalUser: true });
    try {
      const r = await (await post('c4c', { ...c4c(), password: d.env.C4C_PASSWORD })).json();
      assert.equal(r.ok, true, JSON.stringify(r));
    } finally {
      await faults({ technicalUser: false });
    }
    await faults({ errors: [{ status: 200, count: 1, mode: 'login' }] });
    const page = await (await post('c4c', { ...c4c(), password: d.env.C4C_PASSWORD })).json();
    assert.equal(page.ok, false);
    assert.equal(page.code, 'C4C_NOT_ODATA');
  });

  it('c4c: a wrong password → C4C_401 with the credentials hint; a path in Tenant URL → the service-path hint', async () => {
    const bad = await (await post('c4c', { ...c4c(), password: 'not-the-password' }, 'admin', 'zh-CN')).json();
    assert.equal(bad.ok, false);
    assert.equal(bad.code, 'C4C_401');
    assert.match(bad.hint, /用户或密码/);
    assert.doesNotMatch(JSON.stringify(bad), /not-the-password/);
    const doubled = await (await post('c4c', { ...c4c(), baseUrl: `${d.env.C4C_BASE_URL}/sap/c4c/odata/v1/c4codataapi`, password: d.env.C4C_PASSWORD })).json();
    assert.equal(doubled.ok, false);
    assert.match(doubled.hint, /service path/);
    const refused = await (await post('c4c', { ...c4c(), baseUrl: 'http://127.0.0.1:9', password: d.env.C4C_PASSWORD })).json();
    assert.equal(refused.code, 'ECONNREFUSED');
    assert.match(refused.hint, /Tenant URL/);
  });
});
