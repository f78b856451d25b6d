'use strict';
// Every status text of every node, in both catalogs, fits a status (≤ 32 characters
// with placeholders filled), and the shared error status stays within it too.
const assert = require('node:assert');
const path = require('node:path');
const { STATUS_MAX, statusTexts, statusLength } = require('../../scripts/status-rule');

const root = path.resolve(__dirname, '..', '..');
const pkg = require('../../package.json');

describe('status texts', () => {
  const types = Object.keys(pkg['node-red'].nodes);
  it('every node with statuses has them in both catalogs', () => {
    for (const type of types) {
      const texts = statusTexts(root, type);
      const en = texts.filter((t) => t.lang === 'en-US').map((t) => t.key).sort();
      const zh = texts.filter((t) => t.lang === 'zh-CN').map((t) => t.key).sort();
      assert.deepStrictEqual(zh, en, `${type}: status keys differ between en-US and zh-CN`);
    }
  });
  for (const type of types) {
    it(`${type}: every status text is at most ${STATUS_MAX} characters in en-US and zh-CN`, () => {
      const long = statusTexts(root, type).filter((t) => statusLength(t.text) > STATUS_MAX);
      assert.deepStrictEqual(long.map((t) => `${t.lang} ${t.key}: ${t.text}`), []);
    });
  }
  it('measures a short hint with the code before it exactly when lib/hints showsCode() puts it there', () => {
    // scripts/status-rule.js keeps its own copy of that rule (lint runs before any build)
    const { showsCode } = require('../../dist/lib/hints');
    const hints = statusTexts(root, 'wechat-config').filter((t) => t.key.startsWith('hints.short.'));
    assert.ok(hints.length > 0, 'the short hints are measured');
    const differ = hints.filter((t) => {
      const code = t.key.slice('hints.short.'.length);
      return t.text.startsWith('__code__: ') !== showsCode(code, code);
    });
    assert.deepStrictEqual(differ.map((t) => `${t.lang} ${t.key}`), []);
  });
  it('counts placeholders and Chinese characters as characters', () => {
    assert.strictEqual(statusLength('__a__ 通过'), 7);
    assert.ok(statusLength('x'.repeat(33)) > STATUS_MAX);
  });

  describe('failureStatus and reportFailure (nodes/shared/failure)', () => {
    const { failureStatus, failureReporter } = require('../../dist/nodes/shared/failure');
    const { fit } = require('../../dist/nodes/shared/status');
    const { C4CError, odataError } = require('../../dist/lib/c4c/errors');
    const { WeChatApiError } = require('../../dist/lib/wechat/errors');
    const { WeChatC4CError } = require('../../dist/lib/errors');
    const catalogs = {};
    for (const lang of ['en-US', 'zh-CN']) {
      catalogs[lang] = { 'wechat-config': require(`../../nodes/wechat-config/locales/${lang}/wechat-config.json`)['wechat-config'] };
    }
    const RED = (lang) => ({
      _: (key, subs = {}) => {
        const k = key.includes(':') ? key.split(':')[1] : key;
        const v = k.split('.').reduce((o, p) => (o ? o[p] : undefined), catalogs[lang]);
        return typeof v === 'string' ? v.replace(/__(\w+)__/g, (_m, n) => String(subs[n] ?? '')) : key;
      },
    });
    const errors = [
      odataError(401, '', 'query'),
      new C4CError('connect ECONNREFUSED 127.0.0.1:443', 'ECONNREFUSED'),
      odataError(404, JSON.stringify({ error: { code: 'SY/530', message: { value: 'Resource not found for segment' } } }), 'query'),
      new WeChatApiError('stable_token', 40164, 'invalid ip 1.2.3.4'),
      new WeChatApiError('custom_send', 48001, 'api unauthorized'),
      new WeChatC4CError('bad-signature', 'msg_signature mismatch'),
      new WeChatC4CError('-40007', 'bad PKCS#7 padding'),
      new C4CError('C4C lookup failed: HTTP 307 redirect to x', 'C4C_REDIRECT', 307),
      Object.assign(new C4CError('C4C create failed: ETIMEDOUT', 'ETIMEDOUT'), { ambiguous: true }),
      new WeChatC4CError('NO_HINT_HERE', 'x'),
    ];
    it('is short, red and translated in both languages', () => {
      for (const err of errors) {
        const en = failureStatus(RED('en-US'), err);
        const zh = failureStatus(RED('zh-CN'), err);
        assert.strictEqual(en.fill, 'red');
        assert.ok([...en.text].length <= STATUS_MAX, en.text);
        assert.ok([...zh.text].length <= STATUS_MAX, zh.text);
        assert.notStrictEqual(en.text, zh.text, `no Chinese status for ${err.message}`);
      }
      assert.strictEqual(failureStatus(RED('zh-CN'), errors[0]).text, 'C4C 401：用户或密码错误');
      assert.strictEqual(failureStatus(RED('en-US'), errors[0]).text, 'C4C 401: user or password wrong');
      assert.strictEqual(failureStatus(RED('en-US'), errors[1]).text, 'ECONNREFUSED: C4C unreachable');
      assert.strictEqual(failureStatus(RED('en-US'), errors[7]).text, 'C4C redirect: check the URL', 'the package\'s own code: the short hint says it all');
      assert.strictEqual(failureStatus(RED('en-US'), errors[8]).text, 'ETIMEDOUT: outcome unknown');
      assert.strictEqual(failureStatus(RED('en-US'), errors[9]).text, 'failed: NO_HINT_HERE');
    });
    it('reportFailure: the short status, then done(err) with a string code and the long hint in the runtime language', () => {
      const shown = [];
      const node = { status: (st) => shown.push(st) };
      const done = [];
      const report = failureReporter(RED('zh-CN'));
      const secret = 'sk-secret-1234';
      report(node, new WeChatApiError('stable_token', 40164, `invalid ip 203.0.113.9 ${secret}`), {}, (e) => done.push(e), { redact: (t) => t.split(secret).join('***') });
      assert.equal(done.length, 1);
      assert.strictEqual(done[0].code, '40164');
      assert.ok(Object.prototype.hasOwnProperty.call(done[0], 'code'), 'an own property: Node-RED copies only those into msg.error');
      // a Chinese runtime: the message is Chinese (the code and the hint); lib's English detail, redacted, is the cause
      assert.match(done[0].message, /^失败（40164）：请把 Node-RED 服务器的 IP 203\.0\.113\.9 加入 IP 白名单/);
      assert.match(done[0].cause, /^WeChatApiError: WeChat stable_token failed: 40164 invalid ip 203\.0\.113\.9 \*\*\*$/);
      assert.doesNotMatch(`${done[0].message} ${done[0].cause}`, /sk-secret/);
      assert.equal(String(done[0]), done[0].message, 'Node-RED shows `${name}: ${message}`: no English class name');
      assert.deepEqual(shown, [{ fill: 'red', shape: 'ring', text: '40164: IP 不在白名单' }]);
      // an error from elsewhere (no code of its own) reaches Catch with the code ERROR
      report(node, new TypeError('x is not a function'), {}, (e) => done.push(e));
      assert.strictEqual(done[1].code, 'ERROR');
      assert.match(done[1].cause, /^TypeError: x is not a function/);
      // an English runtime keeps lib's text, the class name and the hint at the end
      const en = [];
      failureReporter(RED('en-US'))(node, new WeChatApiError('stable_token', 40164, `invalid ip 203.0.113.9 ${secret}`), {}, (e) => en.push(e), { redact: (t) => t.split(secret).join('***') });
      assert.match(en[0].message, /^WeChat stable_token failed: 40164 invalid ip 203\.0\.113\.9 \*\*\* \(add the Node-RED server IP 203\.0\.113\.9 to the IP whitelist/);
      assert.equal(en[0].name, 'WeChatApiError');
      assert.equal(en[0].cause, undefined);
      assert.strictEqual(shown[1].text, '失败：ERROR');
    });
    it('fit() cuts long texts to 32 characters with an ellipsis', () => {
      assert.strictEqual([...fit('x'.repeat(100))].length, STATUS_MAX);
      assert.strictEqual(fit('short'), 'short');
    });
  });
});
