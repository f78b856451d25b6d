'use strict';
const assert = require('node:assert/strict');
const { MemoryStoreProvider } = require('../../../dist/lib');
const { storeSuite } = require('./shared-suite');

storeSuite('memory', async () => {
  const p = new MemoryStoreProvider();
  return { a: p, b: p, close: () => p.close() };
});

describe('MemoryStoreProvider', () => {
  it('is memory, always healthy, and builds deliveries through the given factory', async () => {
    const made = [];
    const p = new MemoryStoreProvider({ deliveries: (scope) => { made.push(scope); return { close: async () => {} }; } });
    assert.equal(p.kind, 'memory');
    assert.equal(p.healthy, true);
    assert.equal(p.deliveries('app1'), p.deliveries('app1'));
    assert.deepEqual(made, ['app1']);
    await p.close();
  });
});
