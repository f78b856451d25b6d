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
  it('counts placeholders and Chinese characters as characters', () => {
    assert.strictEqual(statusLength('__a__ 通过'), 7);
    assert.ok(statusLength('x'.repeat(33)) > STATUS_MAX);
  });

  describe('errorStatus (nodes/shared/status)', () => {
    const { errorStatus, fit } = require('../../dist/nodes/shared/status');
    const catalogs = {};
    for (const lang of ['en-US', 'zh-CN']) {
      for (const type of ['wechat-config', 'c4c-config']) {
        catalogs[lang] = { ...catalogs[lang], [type]: require(`../../nodes/${type}/locales/${lang}/${type}.json`)[type] };
      }
    }
    const RED = (lang) => ({
      _: (key) => {
        const k = key.includes(':') ? key.split(':')[1] : key;
        const v = k.split('.').reduce((o, p) => (o ? o[p] : undefined), catalogs[lang]);
        return typeof v === 'string' ? v : key;
      },
    });
    const errors = [
      Object.assign(new Error('C4C query failed (401): C4C rejected the credentials: check the user and password in c4c-config'), { code: 'C4C_401', statusCode: 401 }),
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:443'), { code: 'ECONNREFUSED' }),
      Object.assign(new Error('Resource not found for segment'), { code: 'SY/530', statusCode: 404 }),
      Object.assign(new Error('WeChat stable_token failed: 40164 invalid ip 1.2.3.4'), { code: 40164, errcode: 40164 }),
      Object.assign(new Error('WeChat custom_send failed: 48001 api unauthorized'), { code: 48001, errcode: 48001 }),
      Object.assign(new Error('msg_signature mismatch'), { code: 'bad-signature' }),
      new Error('bad PKCS#7 padding'),
    ];
    it('is short, red and translated in both languages', () => {
      for (const err of errors) {
        const en = errorStatus(RED('en-US'), err);
        const zh = errorStatus(RED('zh-CN'), err);
        assert.strictEqual(en.fill, 'red');
        assert.ok([...en.text].length <= STATUS_MAX, en.text);
        assert.ok([...zh.text].length <= STATUS_MAX, zh.text);
        assert.notStrictEqual(en.text, zh.text, `no Chinese hint for ${err.message}`);
      }
      assert.strictEqual(errorStatus(RED('zh-CN'), errors[0]).text, 'C4C 401：用户或密码错误');
      assert.strictEqual(errorStatus(RED('en-US'), errors[0]).text, 'C4C 401: user or password wrong');
    });
    it('fit() cuts long texts to 32 characters with an ellipsis', () => {
      assert.strictEqual([...fit('x'.repeat(100))].length, STATUS_MAX);
      assert.strictEqual(fit('short'), 'short');
    });
  });
});
