'use strict';
// The shared HTTP helper (lib/util/http.ts) and the WeChat client's HTTP rules on top of it:
// which failures are repeated, what reaches the caller, what never leaves the client.
const assert = require('node:assert/strict');
const http = require('node:http');
const lib = require('../../dist/lib');

/** A scripted server: `routes[path]` is a list of handlers used in turn (the last one repeats). */
function scriptedServer() {
  const hits = {};
  const seen = [];
  const routes = {};
  const server = http.createServer((req, res) => {
    const path = req.url.split('?')[0];
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      hits[path] = (hits[path] || 0) + 1;
      seen.push({ method: req.method, path, url: req.url, headers: req.headers, body });
      const list = routes[path];
      if (!list || !list.length) {
        res.writeHead(404);
        return res.end();
      }
      const handler = list.length > 1 ? list.shift() : list[0];
      handler(req, res, body);
    });
  });
  const stop = () => new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
  return {
    hits, seen, routes, server, stop,
    async listen() {
      await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
      return `http://127.0.0.1:${server.address().port}`;
    },
  };
}

const json = (status, value) => (req, res) => {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(typeof value === 'string' ? value : JSON.stringify(value));
};
const reset = () => (req) => req.socket.destroy();

describe('lib/util/http: the network error list', () => {
  it('mayRepeat: never sent -> always; maybe processed -> only idempotent; TLS trust and bad URLs -> never', () => {
    for (const code of ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ERR_SOCKET_CONNECTION_TIMEOUT']) {
      assert.equal(lib.mayRepeat(code, false), true, `${code} on a send`);
      assert.equal(lib.mayRepeat(code, true), true, `${code} on a read`);
    }
    for (const code of ['ECONNRESET', 'ETIMEDOUT', 'ECONNABORTED', 'EPIPE', 'ERR_STREAM_PREMATURE_CLOSE']) {
      assert.equal(lib.mayRepeat(code, false), false, `${code} on a send: it may have been delivered`);
      assert.equal(lib.mayRepeat(code, true), true, `${code} on a read`);
    }
    for (const code of ['CERT_HAS_EXPIRED', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'ERR_TLS_CERT_ALTNAME_INVALID', 'ERR_INVALID_URL', 'ERR_BAD_REQUEST', 'HTTP_500', 'BAD_JSON']) {
      assert.equal(lib.mayRepeat(code, true), false, code);
      assert.equal(lib.mayRepeat(code, false), false, code);
    }
  });

  it('networkErrorCode: the string code, ENETWORK when there is none', () => {
    assert.equal(lib.networkErrorCode(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })), 'ECONNRESET');
    assert.equal(lib.networkErrorCode(new Error('no code')), 'ENETWORK');
    assert.equal(lib.networkErrorCode({ code: 42 }), 'ENETWORK');
    assert.equal(lib.networkErrorCode(null), 'ENETWORK');
    assert.equal(lib.networkErrorCode('text'), 'ENETWORK');
  });
});

describe('lib/util/http: createHttp', () => {
  const s = scriptedServer();
  let base;
  before(async () => {
    base = await s.listen();
    s.routes['/big'] = [json(200, '{"errcode":0,"msgid":4611686018427387905}')];
    s.routes['/moved'] = [(req, res) => { res.writeHead(302, { Location: '/target' }); res.end(); }];
    s.routes['/target'] = [json(200, { ok: true })];
    s.routes['/fail'] = [json(500, { error: 'x' })];
    s.routes['/echo'] = [json(200, {})];
  });
  after(() => s.stop());

  it('keeps the body as text, byte for byte (a 64-bit id is not rounded)', async () => {
    const res = await lib.createHttp({ baseURL: base, timeoutMs: 5000 }).get('/big');
    assert.equal(res.data, '{"errcode":0,"msgid":4611686018427387905}');
    assert.equal(lib.parseJsonExact(res.data).msgid, '4611686018427387905');
  });

  it('resolves every status and never follows a redirect', async () => {
    const h = lib.createHttp({ baseURL: `${base}///`, timeoutMs: 5000 });
    const moved = await h.get('/moved');
    assert.equal(moved.status, 302);
    assert.equal(moved.headers.location, '/target');
    assert.equal(s.hits['/target'], undefined, 'the redirect target was never asked');
    assert.equal((await h.get('/fail')).status, 500);
  });

  it('sends the headers it was given on every request; without them a GET carries no Content-Type (the C4C client sets its own per request)', async () => {
    const withJson = lib.createHttp({ baseURL: base, timeoutMs: 5000, headers: { 'Content-Type': 'application/json; charset=utf-8' } });
    await withJson.post('/echo', '{"a":"b"}');
    let last = s.seen[s.seen.length - 1];
    assert.equal(last.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(last.body, '{"a":"b"}');
    await lib.createHttp({ baseURL: base, timeoutMs: 5000 }).get('/echo');
    last = s.seen[s.seen.length - 1];
    assert.equal(last.headers['content-type'], undefined);
  });
});

describe('lib/util/http: withRetries', () => {
  const failing = (code) => Object.assign(new Error(code), { code });

  it('stops when decide says no: one attempt, no retry counted', async () => {
    let attempts = 0;
    let retries = 0;
    await assert.rejects(
      lib.withRetries(() => { attempts++; throw failing('BAD'); }, () => ({ retry: false }), { retries: 3, baseMs: 1, maxMs: 2 }, { onRetry: () => retries++ }),
      (e) => e.code === 'BAD',
    );
    assert.equal(attempts, 1);
    assert.equal(retries, 0);
  });

  it('retries up to `retries` times, then throws the last error; 0 retries means one attempt', async () => {
    let attempts = 0;
    const seenAttempts = [];
    await assert.rejects(
      lib.withRetries((n) => { attempts++; seenAttempts.push(n); throw failing(`E${n}`); }, () => ({ retry: true }), { retries: 3, baseMs: 1, maxMs: 2 }),
      (e) => e.code === 'E3',
    );
    assert.equal(attempts, 4);
    assert.deepEqual(seenAttempts, [0, 1, 2, 3]);
    attempts = 0;
    await assert.rejects(lib.withRetries(() => { attempts++; throw failing('X'); }, () => ({ retry: true }), { retries: 0, baseMs: 1, maxMs: 2 }));
    assert.equal(attempts, 1);
  });

  it('succeeds on a later attempt and returns its value', async () => {
    const value = await lib.withRetries((n) => { if (n < 2) throw failing('BUSY'); return 'done'; }, () => ({ retry: true }), { retries: 3, baseMs: 1, maxMs: 2 });
    assert.equal(value, 'done');
  });

  it('the pause is at least what Retry-After asked, capped by maxRetryAfterMs', async () => {
    const waits = [];
    await lib.withRetries((n) => { if (n < 1) throw failing('429'); return 1; }, () => ({ retry: true, retryAfterMs: 40 }), { retries: 1, baseMs: 1, maxMs: 2 }, { onRetry: (e, a, w) => waits.push(w) });
    await lib.withRetries((n) => { if (n < 1) throw failing('429'); return 1; }, () => ({ retry: true, retryAfterMs: 600000 }), { retries: 1, baseMs: 1, maxMs: 2, maxRetryAfterMs: 20 }, { onRetry: (e, a, w) => waits.push(w) });
    assert.deepEqual(waits, [40, 20]);
  });

  it('an abort during a pause ends it at once with the `stopped` error; an aborted signal retries nothing', async () => {
    const ctl = new AbortController();
    let attempts = 0;
    const running = lib.withRetries(() => { attempts++; throw failing('ECONNREFUSED'); }, () => ({ retry: true }), { retries: 5, baseMs: 3600000, maxMs: 3600000, signal: ctl.signal }, { onRetry: () => setImmediate(() => ctl.abort()), stopped: () => failing('CLOSED') });
    await assert.rejects(running, (e) => e.code === 'CLOSED');
    assert.equal(attempts, 1);
    attempts = 0;
    await assert.rejects(lib.withRetries(() => { attempts++; throw failing('ECONNREFUSED'); }, () => ({ retry: true }), { retries: 5, baseMs: 1, maxMs: 1, signal: ctl.signal }), (e) => e.code === 'ECONNREFUSED');
    assert.equal(attempts, 1);
  });
});

describe('WeChatClient HTTP through the shared helper', function () {
  this.timeout(20000);
  const APPID = 'wx5ba5fad812f8e6fb';
  const SECRET = 'sandbox-app-secret';
  const TOKEN = 'TOKEN_0123456789abcdef';
  const SEND = '/cgi-bin/message/custom/send';
  const STABLE = '/cgi-bin/stable_token';
  let s;
  let base;
  const clients = [];
  const client = (extra = {}) => {
    const c = new lib.WeChatClient({ apiBase: base, appId: APPID, secret: SECRET, ...extra, retry: { baseMs: 1, maxMs: 5, ...extra.retry } });
    clients.push(c);
    return c;
  };
  const noSecretIn = (e) => {
    for (const x of [TOKEN, SECRET, 'access_token', base, '/cgi-bin']) assert.ok(!e.message.includes(x), `${x} in: ${e.message}`);
    assert.equal(e.config, undefined);
    assert.equal(e.request, undefined);
  };
  beforeEach(async () => {
    s = scriptedServer();
    base = await s.listen();
    s.routes[STABLE] = [json(200, { access_token: TOKEN, expires_in: 7200 })];
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await s.stop();
  });

  it('sends JSON with the JSON Content-Type, the token as a query parameter, and keeps a 64-bit msgid exact', async () => {
    s.routes[SEND] = [json(200, '{"errcode":0,"errmsg":"ok","msgid":4611686018427387905}')];
    const answer = await client().sendCustom({ touser: 'o1', msgtype: 'text', text: { content: '你好' } });
    assert.equal(answer.msgid, '4611686018427387905');
    const send = s.seen.find((r) => r.path === SEND);
    assert.equal(send.method, 'POST');
    assert.equal(send.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(new URL(send.url, base).searchParams.get('access_token'), TOKEN);
    assert.deepEqual(JSON.parse(send.body), { touser: 'o1', msgtype: 'text', text: { content: '你好' } });
  });

  it('a send that may have been delivered (reset, 5xx) is not repeated; the token request is', async () => {
    s.routes[STABLE] = [json(503, 'busy'), reset(), json(200, { access_token: TOKEN, expires_in: 7200 })];
    s.routes[SEND] = [reset()];
    const c = client();
    await assert.rejects(c.sendCustom({ touser: 'o1', msgtype: 'text', text: { content: 'x' } }), (e) => {
      assert.ok(e instanceof lib.WeChatHttpError, e.message);
      assert.equal(e.code, 'ECONNRESET');
      noSecretIn(e);
      return true;
    });
    assert.equal(s.hits[STABLE], 3, 'the token request was repeated after 503 and a reset');
    assert.equal(s.hits[SEND], 1, 'the send was not repeated after a reset');
    s.routes[SEND] = [json(500, 'oops')];
    await assert.rejects(c.sendCustom({ touser: 'o1', msgtype: 'text', text: { content: 'x' } }), (e) => e instanceof lib.WeChatHttpError && e.code === 'HTTP_500' && e.statusCode === 500 && !e.message.includes(TOKEN));
    assert.equal(s.hits[SEND], 2, 'the send was not repeated after a 500');
  });

  it('a 5xx on the token request is retried `retries` times, then HTTP_<status>', async () => {
    s.routes[STABLE] = [json(502, 'bad gateway')];
    await assert.rejects(client({ retry: { retries: 2 } }).getToken(), (e) => e.code === 'HTTP_502' && e.statusCode === 502);
    assert.equal(s.hits[STABLE], 3);
  });

  it('a forced stable_token is never repeated, whatever the failure', async () => {
    const c = client();
    await c.getToken();
    s.routes[STABLE] = [json(500, 'oops')];
    await assert.rejects(c.refresh({ force: true }), (e) => e.code === 'HTTP_500');
    assert.equal(s.hits[STABLE], 2, 'one plain request, one forced request');
    const forced = s.seen.filter((r) => r.path === STABLE).map((r) => JSON.parse(r.body).force_refresh);
    assert.deepEqual(forced, [false, true]);
  });

  it('a connection never made is repeated even for a send, then reported as ECONNREFUSED', async () => {
    const c = client({ retry: { retries: 2 } });
    await c.getToken();
    await s.stop();
    let requests = 0;
    // Counts the attempts (none reaches a server); a fresh agent so no kept-alive socket is reused.
    c.http.interceptors.request.use((cfg) => { requests++; return { ...cfg, httpAgent: new http.Agent({ keepAlive: false }) }; });
    await assert.rejects(c.sendCustom({ touser: 'o1', msgtype: 'text', text: { content: 'x' } }), (e) => {
      assert.ok(e instanceof lib.WeChatHttpError, e.message);
      assert.equal(e.code, 'ECONNREFUSED');
      noSecretIn(e);
      return true;
    });
    assert.equal(requests, 3, 'the first attempt and 2 retries');
    s = scriptedServer(); // afterEach stops a server
    await s.listen();
  });

  it('a redirect is reported as HTTP_302, not followed with the token', async () => {
    s.routes[SEND] = [(req, res) => { res.writeHead(302, { Location: `${base}/elsewhere?access_token=${TOKEN}` }); res.end(); }];
    s.routes['/elsewhere'] = [json(200, { errcode: 0 })];
    await assert.rejects(client().sendCustom({ touser: 'o1', msgtype: 'text', text: { content: 'x' } }), (e) => {
      assert.equal(e.code, 'HTTP_302');
      assert.equal(e.statusCode, 302);
      noSecretIn(e);
      return true;
    });
    assert.equal(s.hits['/elsewhere'], undefined);
    assert.equal(s.hits[SEND], 1);
  });

  it('a 200 that is not JSON (a login or proxy page) is BAD_JSON and not repeated', async () => {
    s.routes[SEND] = [(req, res) => { res.writeHead(200, { 'Content-Type': 'text/html' }); res.end('<html><title>Login</title></html>'); }];
    await assert.rejects(client().sendCustom({ touser: 'o1', msgtype: 'text', text: { content: 'x' } }), (e) => e instanceof lib.WeChatHttpError && e.code === 'BAD_JSON' && e.statusCode === 200);
    assert.equal(s.hits[SEND], 1);
  });

  it('errcode -1 is retried and counted; another errcode is a WeChatApiError at once, secrets scrubbed from errmsg', async () => {
    s.routes[SEND] = [json(200, { errcode: -1, errmsg: 'system error' }), json(200, { errcode: '-1', errmsg: 'system error' }), json(200, { errcode: 0, errmsg: 'ok' })];
    const c = client({ secrets: ['AESKEY-VALUE'] });
    assert.equal((await c.sendCustom({ touser: 'o1', msgtype: 'text', text: { content: 'x' } })).errcode, 0);
    assert.equal(c.stats.busyRetries, 2);
    assert.equal(s.hits[SEND], 3);
    s.routes[SEND] = [json(200, { errcode: 45015, errmsg: `response out of time limit hint: [${SECRET}] AESKEY-VALUE` })];
    await assert.rejects(c.sendCustom({ touser: 'o1', msgtype: 'text', text: { content: 'x' } }), (e) => {
      assert.ok(e instanceof lib.WeChatApiError);
      assert.equal(e.code, '45015');
      assert.ok(!e.message.includes(SECRET) && !e.message.includes('AESKEY-VALUE'), e.message);
      return true;
    });
    assert.equal(s.hits[SEND], 4);
    assert.equal(c.stats.busyRetries, 2);
  });

  it('close() during the pause after a connection failure ends the call as CLOSED', async () => {
    const c = client({ retry: { baseMs: 3600000, maxMs: 3600000 } });
    await c.getToken();
    s.routes[STABLE] = [reset()];
    // close() right after the first attempt failed: the client is then in its (one hour) pause.
    c.http.interceptors.response.use(undefined, (err) => { setImmediate(() => c.close()); return Promise.reject(err); });
    const p = c.refresh();
    await assert.rejects(p, (e) => e instanceof lib.WeChatHttpError && e.code === 'CLOSED');
  });
});
