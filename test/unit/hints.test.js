'use strict';
// The common mistakes map to the hint that names the fix, in both languages: one table, keyed by
// code (the wechat-config catalogs' `hints`), named by each error's hintKey.
const assert = require('node:assert/strict');
const { hintKeyOf, shortCode, HINT_CATALOG } = require('../../dist/lib/hints');
const { WeChatC4CError } = require('../../dist/lib/errors');
const { WeChatApiError, WeChatHttpError } = require('../../dist/lib/wechat/errors');
const { C4CError, odataError } = require('../../dist/lib/c4c/errors');
const { StoreError } = require('../../dist/lib/store/errors');
const { ReplyError } = require('../../dist/lib/wechat/reply');
const { TemplateDataError } = require('../../dist/lib/wechat/template');
const { PushError } = require('../../dist/lib/wechat/push');

const catalog = (lang) => require(`../../nodes/${HINT_CATALOG}/locales/${lang}/${HINT_CATALOG}.json`)[HINT_CATALOG];

describe('lib/hints', () => {
  const cases = [
    [new C4CError('connect ECONNREFUSED 10.0.0.1:443', 'ECONNREFUSED'), 'C4C_UNREACHABLE'],
    [new C4CError('getaddrinfo ENOTFOUND my000000.crm.ondemand.com', 'ENOTFOUND'), 'C4C_UNREACHABLE'],
    [new C4CError('C4C query failed: ETIMEDOUT', 'ETIMEDOUT', undefined, true), 'C4C_TIMEOUT'],
    [odataError(404, JSON.stringify({ error: { code: 'SY/530', message: { value: 'Resource not found for segment' } } }), 'query'), 'SY/530'],
    [odataError(401, '', 'query'), 'C4C_401'],
    [new C4CError('C4C create failed: the $batch answer ended before this create', 'C4C_UNANSWERED', undefined, true), 'C4C_UNANSWERED'],
    [new C4CError('C4C lookup failed: 10 pages of IndividualCustomerCollection matched LastName eq \'Zhang\' without the follower\'s row', 'C4C_LOOKUP_PAGES'), 'C4C_LOOKUP_PAGES'],
    [new WeChatApiError('stable_token', 40164, 'invalid ip 1.2.3.4'), '40164'],
    [new WeChatApiError('custom_send', 48001, 'api unauthorized'), '48001'],
    [new WeChatApiError('token', 40125, 'invalid appsecret'), '40125'],
    [new WeChatApiError('custom_send', 45015, 'response out of time limit'), '45015'],
    [new StoreError('STORE_UNAVAILABLE', 'Redis unavailable'), 'STORE_UNAVAILABLE'],
    [new ReplyError('unknown', 'UNKNOWN_REQUEST'), 'UNKNOWN_REQUEST'],
    [new TemplateDataError('template', [{ key: 'thing1', reason: 'too long' }]), 'TEMPLATE_DATA'],
    [new PushError('no recipient'), 'PUSH_INPUT'],
  ];
  for (const [err, key] of cases) {
    it(`${err.name} ${err.code} → hint ${key}, with a text in en-US and zh-CN`, () => {
      assert.equal(typeof err.code, 'string');
      assert.equal(hintKeyOf(err), key);
      for (const lang of ['en-US', 'zh-CN']) {
        const c = catalog(lang);
        assert.ok(c.hints[key], `${lang} ${HINT_CATALOG}.hints.${key}`);
        assert.ok(c.hints.short[key], `${lang} ${HINT_CATALOG}.hints.short.${key}`);
      }
      assert.notEqual(catalog('zh-CN').hints[key], catalog('en-US').hints[key]);
    });
  }
  it('every hint has both texts in both languages', () => {
    const en = catalog('en-US').hints;
    const zh = catalog('zh-CN').hints;
    const keys = (h) => Object.keys(h).filter((k) => k !== 'short').sort();
    assert.deepEqual(keys(zh), keys(en));
    assert.deepEqual(Object.keys(en.short).sort(), keys(en));
    assert.deepEqual(Object.keys(zh.short).sort(), keys(en));
  });
  it('an error without a hint, a WeChat network error and short codes', () => {
    assert.equal(hintKeyOf(new WeChatC4CError('SOMETHING', 'x', { hintKey: null })), undefined);
    assert.equal(catalog('en-US').hints[hintKeyOf(new WeChatHttpError('token', 'ECONNREFUSED', 'connect ECONNREFUSED'))], undefined, 'not the C4C Tenant URL');
    assert.equal(shortCode('C4C_401'), 'C4C 401');
    assert.equal(shortCode('40164'), '40164');
  });
  it('lib/ has one direct subclass of Error and every other error class derives from it', () => {
    for (const E of [WeChatApiError, WeChatHttpError, C4CError, StoreError, ReplyError, TemplateDataError, PushError]) {
      assert.ok(E.prototype instanceof WeChatC4CError, E.name);
    }
  });
});
