'use strict';
// The common mistakes map to the hint that names the fix, in both languages.
const assert = require('node:assert/strict');
const { hintKey, shortCode, HINT_CATALOG } = require('../../dist/lib/hints');

const catalog = (type, lang) => require(`../../nodes/${type}/locales/${lang}/${type}.json`)[type];

describe('lib/hints', () => {
  const cases = [
    [{ code: 'bad-signature', message: 'msg_signature mismatch' }, 'token'],
    [new Error('signature mismatch'), 'token'],
    [Object.assign(new Error('bad PKCS#7 padding'), { code: 'DecryptAES' }), 'aes-key'],
    [Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443'), { code: 'ECONNREFUSED' }), 'tenant-url'],
    [Object.assign(new Error('getaddrinfo ENOTFOUND my000000.crm.ondemand.com'), { code: 'ENOTFOUND' }), 'tenant-url'],
    [Object.assign(new Error('C4C query failed (404): Resource not found for segment'), { code: 'SY/530', statusCode: 404 }), 'service-path'],
    [Object.assign(new Error('WeChat stable_token failed: 40164 invalid ip 1.2.3.4'), { code: 40164, errcode: 40164 }), 'ip-whitelist'],
    [Object.assign(new Error('WeChat custom_send failed: 48001 api unauthorized'), { code: 48001, errcode: 48001 }), 'api-unauthorised'],
    [Object.assign(new Error('40125 invalid appsecret'), { errcode: 40125 }), 'app-secret'],
    [Object.assign(new Error('C4C query failed (401)'), { code: 'C4C_401', statusCode: 401 }), 'c4c-credentials'],
  ];
  for (const [err, key] of cases) {
    it(`${err.message} → ${key}, with a text in en-US and zh-CN`, () => {
      assert.equal(hintKey(err), key);
      const type = HINT_CATALOG[key];
      for (const lang of ['en-US', 'zh-CN']) {
        const c = catalog(type, lang);
        assert.ok(c.hints[key], `${lang} ${type}.hints.${key}`);
        assert.ok(c.hints.short[key], `${lang} ${type}.hints.short.${key}`);
      }
      assert.notEqual(catalog(type, 'zh-CN').hints[key], catalog(type, 'en-US').hints[key]);
    });
  }
  it('an unknown error has no hint; short codes are status-sized', () => {
    assert.equal(hintKey(new Error('something else')), undefined);
    const wechatDown = Object.assign(new Error('WeChat token failed: connect ECONNREFUSED'), { name: 'WeChatHttpError', code: 'ECONNREFUSED' });
    assert.equal(hintKey(wechatDown), undefined, 'not the C4C Tenant URL');
    assert.equal(shortCode({ code: 'C4C_401' }), 'C4C 401');
    assert.equal(shortCode({ errcode: 40164, code: 40164 }), '40164');
  });
});
