'use strict';
// `npm start` runs Node-RED with a heap limit (scripts/nr-process.js): what V8 lets pile up as
// garbage depends on it (docs/security.md, "The soak"). An operator's NODE_OPTIONS wins.
const assert = require('node:assert/strict');
const { startNodeArgs, START_HEAP_MB } = require('../../scripts/nr-process');

describe('npm start: Node flags', () => {
  it('adds --max-old-space-size=512 unless NODE_OPTIONS sets its own', () => {
    assert.equal(START_HEAP_MB, 512);
    assert.deepEqual(startNodeArgs({}), ['--max-old-space-size=512']);
    assert.deepEqual(startNodeArgs({ NODE_OPTIONS: '--enable-source-maps' }), ['--max-old-space-size=512']);
    assert.deepEqual(startNodeArgs({ NODE_OPTIONS: '--max-old-space-size=2048' }), []);
    assert.deepEqual(startNodeArgs({ NODE_OPTIONS: '--enable-source-maps --max_old_space_size=1024' }), [], 'V8 takes the underscore spelling too');
  });
});
