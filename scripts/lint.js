#!/usr/bin/env node
'use strict';
// Checks tsc cannot make: every node registered in package.json has its editor file, help and
// labels in en-US and zh-CN with the same keys; every RED._() key the code uses exists in both
// catalogs; lib/ imports nothing from Node-RED; no console.* in shipped code; no line break
// between two Chinese characters in README.zh-CN.md's paragraphs.
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const pkg = require(path.join(root, 'package.json'));
const problems = [];
const LANGS = ['en-US', 'zh-CN'];

function flatKeys(obj, prefix = '') {
  return Object.entries(obj).flatMap(([k, v]) => (v && typeof v === 'object' ? flatKeys(v, `${prefix}${k}.`) : [`${prefix}${k}`]));
}
function walk(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

const catalogs = {};
for (const type of Object.keys(pkg['node-red'].nodes)) {
  const dir = path.join(root, 'nodes', type);
  for (const f of [`${type}.ts`, `${type}.html`]) {
    if (!fs.existsSync(path.join(dir, f))) problems.push(`${type}: missing ${f}`);
  }
  const keys = {};
  for (const lang of LANGS) {
    const json = path.join(dir, 'locales', lang, `${type}.json`);
    const help = path.join(dir, 'locales', lang, `${type}.html`);
    if (!fs.existsSync(help)) problems.push(`${type}: missing help ${path.relative(root, help)}`);
    else if (!fs.readFileSync(help, 'utf8').includes(`data-help-name="${type}"`)) problems.push(`${type}: help ${lang} has no data-help-name="${type}"`);
    if (!fs.existsSync(json)) { problems.push(`${type}: missing ${path.relative(root, json)}`); continue; }
    const data = JSON.parse(fs.readFileSync(json, 'utf8'));
    keys[lang] = new Set(flatKeys(data));
    catalogs[lang] = new Set([...(catalogs[lang] || []), ...keys[lang]]);
  }
  if (keys['en-US'] && keys['zh-CN']) {
    for (const k of keys['en-US']) if (!keys['zh-CN'].has(k)) problems.push(`${type}: zh-CN lacks ${k}`);
    for (const k of keys['zh-CN']) if (!keys['en-US'].has(k)) problems.push(`${type}: en-US lacks ${k}`);
  }
}

// The simulators stand in for WeChat and C4C: they must not share the code they test.
for (const file of walk(path.join(root, 'sandbox')).filter((f) => f.endsWith('.ts'))) {
  if (/(from|require\()\s*['"]\.\.\/lib\//.test(fs.readFileSync(file, 'utf8'))) problems.push(`${path.relative(root, file)}: the sandbox must not import lib/ (a simulator that shares the client's code agrees with its bugs)`);
}

for (const file of [...walk(path.join(root, 'nodes')), ...walk(path.join(root, 'lib'))]) {
  const rel = path.relative(root, file);
  const text = fs.readFileSync(file, 'utf8');
  if (file.endsWith('.ts')) {
    if (/\bconsole\.(log|warn|error|info|debug)\(/.test(text)) problems.push(`${rel}: console.* in shipped code (use node.log/warn/error)`);
    for (const m of text.matchAll(/RED\._\(\s*[`'"]([\w.-]+)[`'"]/g)) {
      for (const lang of LANGS) if (!(catalogs[lang] || new Set()).has(m[1])) problems.push(`${rel}: i18n key ${m[1]} missing in ${lang}`);
    }
    for (const m of text.matchAll(/RED\._\(\s*`([\w.-]+)\.\$\{/g)) {
      for (const lang of LANGS) if (![...(catalogs[lang] || [])].some((k) => k.startsWith(`${m[1]}.`))) problems.push(`${rel}: i18n group ${m[1]} missing in ${lang}`);
    }
  }
  if (rel.startsWith('lib') && /require\(['"]node-red|from ['"]node-red|@node-red\//.test(text)) problems.push(`${rel}: lib/ must not import Node-RED`);
}

// Statuses: short in both languages, every status key a node uses in both of its
// catalogs, and Chinese statuses in Chinese. A placeholder counts as PLACEHOLDER_WIDTH characters.
const { statusTexts, statusLength, STATUS_MAX } = require('./status-rule');
// Words that stay as they are in Chinese text (names of things the admin types or sees in 公众平台).
const ZH_KEEP = /^(AppID|AppSecret|Token|token|access_token|OpenID|OData|C4C|URL|CSRF|AES|IP|API|ID|msg\.[\w.]+|wechat-[\w-]+|c4c-[\w-]+|stable_token|SY|HTTP|Redis|ms|s)$/;
for (const type of Object.keys(pkg['node-red'].nodes)) {
  const texts = statusTexts(root, type);
  for (const { lang, key, text } of texts) {
    const n = statusLength(text);
    if (n > STATUS_MAX) problems.push(`${type}: ${lang} status.${key} is ${n} characters (max ${STATUS_MAX}): "${text}"`);
    if (lang === 'zh-CN') {
      const words = text.replace(/__\w+__/g, '').match(/[A-Za-z][\w.-]*/g) || [];
      const english = words.filter((w) => !ZH_KEEP.test(w));
      if (english.length) problems.push(`${type}: zh-CN status.${key} has untranslated English (${english.join(', ')}): "${text}"`);
    }
  }
  const ts = path.join(root, 'nodes', type, `${type}.ts`);
  if (!fs.existsSync(ts)) continue;
  const src = fs.readFileSync(ts, 'utf8');
  for (const m of src.matchAll(new RegExp(`${type}\\.status\\.([\\w-]+)`, 'g'))) {
    for (const lang of LANGS) if (!texts.some((t) => t.lang === lang && t.key === m[1])) problems.push(`${type}: status key ${m[1]} used in ${type}.ts is missing in ${lang}`);
  }
}

// Chinese Markdown: a line break between two Chinese characters inside a paragraph renders as a
// stray space. Code blocks, tables, headings and the start of a list item are not paragraph text.
const CHINESE = /[\p{Script=Han}\u3000-\u303f\uff00-\uffef\u2018-\u201d\u2014\u2026]/u;
function chineseBreaks(text) {
  const lines = text.split('\n');
  const out = [];
  let fence = false;
  for (let i = 0; i < lines.length - 1; i++) {
    if (/^\s*(```|~~~)/.test(lines[i])) { fence = !fence; continue; }
    const [a, b] = [lines[i], lines[i + 1]];
    if (fence || !a.trim() || !b.trim() || /^\s*(```|~~~|\||#)/.test(b) || /^\s*(\||#)/.test(a) || /^\s*([-*+]|\d+[.)])\s/.test(b)) continue;
    if (CHINESE.test(Array.from(a).pop()) && CHINESE.test(Array.from(b.trimStart())[0])) out.push(i + 1);
  }
  return out;
}
for (const md of ['README.zh-CN.md']) {
  for (const n of chineseBreaks(fs.readFileSync(path.join(root, md), 'utf8'))) problems.push(`${md}:${n}: a line break between two Chinese characters (renders as a space): join the lines`);
}

// docs/glossary.md, the rules a machine can check in Chinese text: `access_token` is written so
// (never "access token"), and 推送 is only what the account sends (WeChat's deliveries are 投递).
const GLOSSARY = [
  [/access token/i, 'write access_token in Chinese text'],
  [/(首次|微信|重试|两次)推送|推送到服务器/, 'a WeChat delivery is 投递; 推送 is only what the account sends'],
];
const chineseTexts = [
  'README.zh-CN.md',
  ...walk(path.join(root, 'nodes')).filter((f) => /[\\/]locales[\\/]zh-CN[\\/]/.test(f)).map((f) => path.relative(root, f)),
  ...walk(path.join(root, 'sandbox', 'page')).map((f) => path.relative(root, f)),
];
for (const rel of chineseTexts) {
  const lines = fs.readFileSync(path.join(root, rel), 'utf8').split('\n');
  lines.forEach((line, i) => {
    if (!/[\u4e00-\u9fff]/.test(line)) return; // English lines of a bilingual file are English
    for (const [re, why] of GLOSSARY) if (re.test(line)) problems.push(`${rel}:${i + 1}: ${why} (docs/glossary.md)`);
  });
}

if (problems.length) {
  console.error(problems.map((p) => `lint: ${p}`).join('\n'));
  process.exit(1);
}
console.log('lint: ok');
