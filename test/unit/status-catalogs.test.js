'use strict';
// The status rule for the inbound nodes: every status text, filled with the widest
// values it can get, fits in 32 characters in both languages, and zh-CN is Chinese throughout.
const assert = require('node:assert/strict');
const path = require('node:path');

const WIDE = { accepted: '1234567', rejected: '1234567', duplicate: '1234567', count: '1234567', until: '23:59:59', mode: 'classic', code: 'FORCE_REFRESH_TOO_SOON' };

describe('status texts (wechat-in, wechat-reply, token-refresh)', () => {
  for (const type of ['wechat-in', 'wechat-reply', 'token-refresh']) {
    for (const lang of ['en-US', 'zh-CN']) {
      it(`${type} ${lang}: at most 32 characters filled in`, () => {
        const catalog = require(path.join(__dirname, '..', '..', 'nodes', type, 'locales', lang, `${type}.json`));
        const statuses = catalog[type].status;
        assert.ok(Object.keys(statuses).length > 2);
        for (const [key, text] of Object.entries(statuses)) {
          const filled = text.replace(/__(\w+)__/g, (_m, name) => WIDE[name] ?? 'x'.repeat(8));
          assert.ok([...filled].length <= 32, `${type}.status.${key} (${lang}): "${filled}" is ${[...filled].length} characters`);
          if (lang === 'zh-CN' && !/^(msg\.wechat|AppID)/.test(text)) {
            const words = text.replace(/__\w+__/g, '').match(/[A-Za-z]{3,}/g) || [];
            assert.deepEqual(words.filter((w) => !['token', 'URL', 'AppID', 'AppSecret', 'msg', 'wechat', 'Redis'].includes(w)), [], `${type}.status.${key} (zh-CN) "${text}" is not fully translated`);
          }
        }
      });
    }
  }
});
