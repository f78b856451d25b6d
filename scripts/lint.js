#!/usr/bin/env node
'use strict';
// Checks tsc cannot make: every node registered in package.json has its editor file, help and
// labels in en-US and zh-CN with the same keys; every RED._() key the code uses exists in both
// catalogs; lib/ imports nothing from Node-RED; no console.* in shipped code.
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

if (problems.length) {
  console.error(problems.map((p) => `lint: ${p}`).join('\n'));
  process.exit(1);
}
console.log('lint: ok');
