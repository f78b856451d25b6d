'use strict';
// The README's picture of the bundled flow (docs/images/flow.png, `npm run screenshots`) shows node
// statuses; the script records them in docs/images/flow.statuses.json. Each must still be a status
// the catalogs produce — a picture of statuses the nodes no longer use is out of date.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');

/** Every status text a node of this package can show (en-US), as a pattern: placeholders match anything. */
function statusPatterns() {
  const out = [];
  const walk = (o, inStatus) => {
    for (const [k, v] of Object.entries(o)) {
      if (typeof v === 'string') { if (inStatus) out.push(v); } else if (v && typeof v === 'object') walk(v, inStatus || k === 'status' || k === 'short');
    }
  };
  for (const type of fs.readdirSync(path.join(root, 'nodes'))) {
    const file = path.join(root, 'nodes', type, 'locales', 'en-US', `${type}.json`);
    if (fs.existsSync(file)) walk(JSON.parse(fs.readFileSync(file, 'utf8')), false);
  }
  // a failure status is `<code>: <short hint>`
  return out.map((t) => new RegExp(`^(\\S+: )?${t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/__\w+__/g, '.*')}$`));
}

describe('the README\'s picture of the flow', () => {
  it('shows only statuses the nodes still produce', () => {
    const { statuses } = JSON.parse(fs.readFileSync(path.join(root, 'docs', 'images', 'flow.statuses.json'), 'utf8'));
    assert.ok(statuses.length >= 2, 'the picture shows statuses');
    const patterns = statusPatterns();
    const stale = statuses.filter((s) => s.type !== 'debug' && !patterns.some((re) => re.test(s.text)));
    assert.deepEqual(stale, [], 'run `npm run screenshots` to redraw docs/images/flow.png');
  });
});
