'use strict';
const assert = require('node:assert/strict');
const { DeadlineQueue } = require('../../dist/lib');
const { sleep } = require('../helpers/wait');

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
    await sleep(80);
    assert.deepEqual(expired, [1]);
    assert.equal(q.size, 0);
  });
});

describe('Limiter', () => {
  const { Limiter, KeyedSerializer } = require('../../dist/lib');
  it('runs at most max at once, in order, priority work first', async () => {
    const l = new Limiter(1);
    const order = [];
    let release;
    const first = l.run(() => new Promise((r) => { release = r; }));
    const a = l.run(async () => order.push('a'));
    const b = l.run(async () => order.push('b'));
    const urgent = l.run(async () => order.push('urgent'), true);
    assert.equal(l.queued, 3);
    release();
    await Promise.all([first, a, b, urgent]);
    assert.deepEqual(order, ['urgent', 'a', 'b']);
    assert.equal(l.running, 0);
  });
  it('KeyedSerializer: same key one after another, even after a failure', async () => {
    const s = new KeyedSerializer();
    const log = [];
    const slow = s.run('k', async () => { await sleep(20); log.push(1); throw new Error('x'); });
    const next = s.run('k', async () => log.push(2));
    await assert.rejects(slow);
    await next;
    assert.deepEqual(log, [1, 2]);
    await new Promise((r) => setImmediate(r));
    assert.equal(s.size, 0, 'finished keys are forgotten');
  });
  it('the deadline counts from the given start (the request arrival), not from the push', () => {
    let t = 1000;
    const expired = [];
    const q = new DeadlineQueue(4500, 100, { isSettled: () => false, onExpired: (x) => expired.push(x) }, () => t);
    q.push('arrived-3s-ago', t - 3000); // e.g. queued behind a CPU-heavy burst
    q.push('no-stamp');
    q.push('future-stamp-ignored', t + 60000);
    t += 1500;
    q.tick();
    assert.deepEqual(expired, ['arrived-3s-ago']);
    t += 3000;
    q.tick();
    assert.deepEqual(expired, ['arrived-3s-ago', 'no-stamp', 'future-stamp-ignored']);
  });
  it('an item that arrived earlier but is pushed later (its body was slow) is not held behind the items pushed before it', () => {
    let t = 1000;
    const expired = [];
    const q = new DeadlineQueue(4500, 100, { isSettled: () => false, onExpired: (x) => expired.push(x) }, () => t);
    q.push('fast', t);
    q.push('slow-body', t - 4000);
    try {
      t += 600;
      q.tick();
      assert.deepEqual(expired, ['slow-body']);
      t += 4000;
      q.tick();
      assert.deepEqual(expired, ['slow-body', 'fast']);
    } finally {
      q.flush(); // no timer left behind, also when an assertion failed
    }
  });
});
