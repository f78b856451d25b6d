'use strict';
// What `npm pack` ships: every relative link in the READMEs and docs points at a file the tarball
// carries (the README is read inside the installed package too), and the pieces Node-RED needs
// (the built nodes, the examples, the editor resources) are in it.
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');

describe('the packed tarball', function () {
  this.timeout(60000);
  let files;
  before(() => {
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' } });
    files = new Set(JSON.parse(out)[0].files.map((f) => f.path));
  });

  it('carries the built nodes, the examples, the editor resources and the docs', () => {
    const pkg = require(path.join(root, 'package.json'));
    for (const file of Object.values(pkg['node-red'].nodes)) assert.ok(files.has(file), file);
    for (const f of ['examples/wechat-c4c.json', 'examples/wechat-echo.json', 'resources/check.js', 'README.md', 'README.zh-CN.md', 'docs/security.md', 'LICENSE']) assert.ok(files.has(f), f);
  });

  it('every relative link in the READMEs and docs resolves inside the tarball', () => {
    const docs = [...files].filter((f) => f.endsWith('.md'));
    assert.ok(docs.length >= 5, docs.join(', '));
    const broken = [];
    for (const doc of docs) {
      const text = require('node:fs').readFileSync(path.join(root, doc), 'utf8');
      for (const m of text.matchAll(/\]\(([^)\s]+)\)|src="([^"]+)"/g)) {
        const link = m[1] || m[2];
        if (/^(https?:|mailto:|#)/.test(link)) continue;
        const target = path.posix.normalize(path.posix.join(path.posix.dirname(doc), link.split('#')[0]));
        if (!files.has(target)) broken.push(`${doc} → ${link}`);
      }
    }
    assert.deepEqual(broken, []);
  });
});
