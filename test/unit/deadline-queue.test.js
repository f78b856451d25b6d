'use strict';
const assert = require('node:assert/strict');
const { DeadlineQueue } = require('../../dist/lib');

describe('DeadlineQueue', () => {
  it('expires unsettled items after the delay, releases settled ones early, flushes on close', async () => {
    let t = 0;
    const expired = [];
    const settledSeen = [];
    const settled = new Set();
    const q = new DeadlineQueue(100, 5, {
      isSettled: (x) => settled.has(x),
      onSettled: (x) => settledSeen.push(x),
      onExpired: (x) => expired.push(x),
    }, () => t);
    q.push('a');
    q.push('b');
    t = 50;
    q.push('c');
    settled.add('a');
    q.tick();
    assert.deepEqual(settledSeen, ['a']);
    assert.deepEqual(expired, []);
    t = 100;
    q.tick();
    assert.deepEqual(expired, ['b']);
    q.flush();
    assert.deepEqual(expired, ['b', 'c']);
    assert.equal(q.size, 0);
  });
  it('its own timer fires while items wait and stops when the queue is empty', async () => {
    const expired = [];
    const q = new DeadlineQueue(20, 5, { isSettled: () => false, onExpired: (x) => expired.push(x) });
    q.push(1);
    await new Promise((r) => setTimeout(r, 80));
    assert.deepEqual(expired, [1]);
    assert.equal(q.size, 0);
  });
});
