'use strict';
// The status rule, shared by scripts/lint.js and test/unit/status-length.test.js:
// every `status.*` text (and short hint) of a node's en-US and zh-CN catalogs is at most STATUS_MAX characters,
// counting each __placeholder__ as PLACEHOLDER_WIDTH characters (a count, a short id, a time).
const fs = require('node:fs');
const path = require('node:path');

const STATUS_MAX = 32;
const PLACEHOLDER_WIDTH = 4;
const LANGS = ['en-US', 'zh-CN'];
// lib/hints.ts showsCode(): a status shows the code before the short hint, but for these
const OWN_CODE = /^(?!C4C_\d+$)[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$/;

function flat(obj, prefix = '') {
  return Object.entries(obj || {}).flatMap(([k, v]) => (v && typeof v === 'object' ? flat(v, `${prefix}${k}.`) : [[`${prefix}${k}`, String(v)]]));
}

/** [{lang, key, text}] for every status text of a node type. */
function statusTexts(root, type) {
  const out = [];
  for (const lang of LANGS) {
    const file = path.join(root, 'nodes', type, 'locales', lang, `${type}.json`);
    if (!fs.existsSync(file)) continue;
    const data = JSON.parse(fs.readFileSync(file, 'utf8'))[type] || {};
    for (const [key, text] of flat(data.status)) out.push({ lang, key, text });
    // The short hints (lib/hints.ts) are statuses too: after the code, but for the package's own codes.
    for (const [key, text] of flat(data.hints && data.hints.short)) out.push({ lang, key: `hints.short.${key}`, text: OWN_CODE.test(key) ? text : `__code__: ${text}` });
  }
  return out;
}

/** Characters (code points) once placeholders are filled. */
function statusLength(text) {
  return [...String(text).replace(/__\w+__/g, 'x'.repeat(PLACEHOLDER_WIDTH))].length;
}

module.exports = { STATUS_MAX, PLACEHOLDER_WIDTH, LANGS, statusTexts, statusLength };
