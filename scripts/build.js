#!/usr/bin/env node
'use strict';
// Build: compile lib/ and nodes/ with tsc into dist/, copy each node's editor files (.html,
// locales/, icons/) beside its .js, and copy flows/*.json into examples/ (Node-RED's
// Import > Examples menu reads that folder only).
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');

fs.rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(root, 'tsconfig.json')], { stdio: 'inherit', cwd: root });

// The real tenant's $metadata excerpt has one source, test/fixtures/c4c/: copied beside lib/'s
// compiled code (the shipped fallback when a tenant's own $metadata cannot be read) and beside the
// C4C simulator's (which serves it and parses it with its own code: the sandbox shares data with
// lib/, never code).
const METADATA = path.join(root, 'test', 'fixtures', 'c4c', 'IndividualCustomer.metadata.xml');
fs.copyFileSync(METADATA, path.join(dist, 'lib', 'c4c', 'IndividualCustomer.metadata.xml'));
fs.copyFileSync(METADATA, path.join(dist, 'sandbox', 'c4c-metadata.xml'));

// The sandbox page is served from dist/sandbox/page.
fs.cpSync(path.join(root, 'sandbox', 'page'), path.join(dist, 'sandbox', 'page'), { recursive: true });

const nodesDir = path.join(root, 'nodes');
for (const type of fs.readdirSync(nodesDir)) {
  const src = path.join(nodesDir, type);
  if (!fs.statSync(src).isDirectory() || type === 'shared') continue;
  const out = path.join(dist, 'nodes', type);
  fs.mkdirSync(out, { recursive: true });
  for (const entry of fs.readdirSync(src)) {
    const from = path.join(src, entry);
    if (entry.endsWith('.html') || entry === 'locales' || entry === 'icons') {
      fs.cpSync(from, path.join(out, entry), { recursive: true });
    }
  }
}

const flows = path.join(root, 'flows');
const examples = path.join(root, 'examples');
fs.rmSync(examples, { recursive: true, force: true });
if (fs.existsSync(flows)) {
  fs.mkdirSync(examples, { recursive: true });
  for (const f of fs.readdirSync(flows).filter((n) => n.endsWith('.json'))) {
    const flow = JSON.parse(fs.readFileSync(path.join(flows, f), 'utf8')); // a broken flow fails the build
    fs.copyFileSync(path.join(flows, f), path.join(examples, f));
    // A translated copy from the same source (flows/i18n/<name>.<lang>.json: the texts an admin
    // reads — tab label and description, node names, comments — by node id); every other property
    // is the source's. A named node without a translation fails the build.
    for (const t of fs.existsSync(path.join(flows, 'i18n')) ? fs.readdirSync(path.join(flows, 'i18n')) : []) {
      const m = new RegExp(`^${f.replace(/\.json$/, '').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.([\\w-]+)\\.json$`).exec(t);
      if (!m) continue;
      const texts = JSON.parse(fs.readFileSync(path.join(flows, 'i18n', t), 'utf8'));
      const untranslated = flow.filter((n) => (n.name || n.type === 'tab') && !texts[n.id]).map((n) => n.id);
      if (untranslated.length) throw new Error(`flows/i18n/${t}: no translation for ${untranslated.join(', ')}`);
      const translated = flow.map((n) => ({ ...n, ...texts[n.id] }));
      fs.writeFileSync(path.join(examples, f.replace(/\.json$/, `-${m[1]}.json`)), `${JSON.stringify(translated, null, 2)}\n`);
    }
  }
}
console.log('build: dist/ and examples/ written');
