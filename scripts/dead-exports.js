#!/usr/bin/env node
'use strict';
// Exports of lib/ and nodes/ that nothing imports: every value (function, class, const) a .ts file
// there exports must be named in another file of lib/, nodes/, sandbox/, scripts/, bench/ or test/
// (the barrels that only re-export, lib/index.ts and lib/store/redis/index.ts, do not count as a
// use); a type or interface may instead describe its own file's exported signatures (an options
// object, a result), but one named nowhere at all is dead too. Error classes are exempt: what a
// caller catches is theirs to test with instanceof.
// Prints the dead ones and exits 1 when there are any (part of `npm run lint`).
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const BARRELS = new Set(['lib/index.ts', 'lib/store/redis/index.ts'].map((f) => path.join(root, f)));

function walk(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.name === 'node_modules' || e.name === 'results' || e.name === 'artifacts') return [];
    const p = path.join(dir, e.name);
    return e.isDirectory() ? walk(p) : [p];
  });
}

const code = (f) => /\.(ts|js)$/.test(f) && !f.endsWith('.d.ts');
const defining = [...walk(path.join(root, 'lib')), ...walk(path.join(root, 'nodes'))].filter((f) => f.endsWith('.ts') && !BARRELS.has(f));
const users = ['lib', 'nodes', 'sandbox', 'scripts', 'bench', 'test'].flatMap((d) => walk(path.join(root, d))).filter((f) => (code(f) || f.endsWith('.html')) && !BARRELS.has(f));
const text = new Map(users.map((f) => [f, fs.readFileSync(f, 'utf8')]));

/** The names a file exports (declarations, and `export { a, b as c }` lists), each with whether it is a type. */
function exportsOf(src) {
  const names = new Map();
  for (const m of src.matchAll(/^export\s+(?:declare\s+)?(?:default\s+)?(?:abstract\s+)?(?:async\s+)?(function\*?|class|const|let|var|interface|type|enum)\s+([A-Za-z_$][\w$]*)/gm)) names.set(m[2], m[1] === 'interface' || m[1] === 'type');
  for (const m of src.matchAll(/^export\s+(type\s+)?\{([^}]*)\}(?!\s*from)/gm)) {
    for (const part of m[2].split(',')) {
      const name = part.trim().split(/\s+as\s+/).pop()?.replace(/^type\s+/, '');
      if (name) names.set(name, !!m[1] || /^\s*type\s/.test(part));
    }
  }
  return names;
}

const dead = [];
for (const file of defining) {
  const own = fs.readFileSync(file, 'utf8');
  for (const [name, isType] of exportsOf(own)) {
    const word = new RegExp(`\\b${name.replace(/\$/g, '\\$')}\\b`, 'g');
    const used = [...text].some(([f, src]) => f !== file && word.test(src));
    if (used || (isType && (own.match(word) ?? []).length > 1) || new RegExp(`class ${name}\\b[^{]*extends \\w*Error\\b`).test(own)) continue;
    dead.push(`${path.relative(root, file)}: ${name}`);
  }
}

if (dead.length) {
  console.error(`dead-exports: ${dead.length} export(s) nothing imports:\n  ${dead.join('\n  ')}`);
  process.exit(1);
}
console.log('dead-exports: none');
