'use strict';
// Several instances, end to end with real components: 3 real Node-RED processes with the bundled flow, one
// Debian redis-server, Debian's nginx in front (round robin), the sandbox's WeChat server calling
// the webhook through nginx, its WeChat API and C4C answering the instances. No timing assertions:
// every wait below is a bound on waiting, never a verdict.
const assert = require('node:assert/strict');
const { startCluster } = require('../helpers/cluster');
const { sleep, waitFor } = require('../helpers/wait');
const { newOpenId } = require('../../dist/sandbox/wechat-server');
const { needPrograms, programPath } = require('../helpers/programs');

// c4c-create-customer's claimAfter in the bundled flow (seconds; the node's default is 30).
function claimAfterMs(c) {
  const node = require('../../flows/wechat-c4c.json').find((n) => n.id === 'wc.customer');
  const s = Number(node && node.claimAfter);
  return (Number.isFinite(s) && s > 0 ? s : 30) * 1000;
}

describe('several Node-RED instances on one Redis behind nginx (real processes)', function () {
  this.timeout(240000);
  let c;

  before(async function () {
    needPrograms(this, 'redis-server', 'redis-cli', 'nginx');
    this.timeout(120000);
    // Classic token mode throughout: the token count at the end covers the whole run (kill, restarts).
    c = await startCluster({ instances: 3, tokenMode: 'classic' });
  });
  after(async () => {
    if (c) await c.stop();
  });
  afterEach(async function () {
    if (!c) return;
    await fetch(`${c.sandbox.url}/__sim/c4c/faults`, { method: 'POST', body: JSON.stringify({ latencyMs: 0 }) });
    if (this.currentTest.state === 'failed') {
      console.log(c.output(30));
      console.log(`--- nginx error log ---\n${c.nginx.errorLog().split('\n').slice(-10).map((l) => l.replace(/\?\S*/g, '?…').slice(0, 200)).join('\n')}`);
    }
  });

  const c4cLatency = (ms) => fetch(`${c.sandbox.url}/__sim/c4c/faults`, { method: 'POST', body: JSON.stringify({ latencyMs: ms }) }).then((r) => r.json());

  it('each follow\'s first delivery and WeChat\'s retries on different instances: one flow run, one customer, one push, the same reply bytes to every delivery', async () => {
    await c4cLatency(1500); // the flow is still running (in C4C) when the retries arrive
    const followers = [];
    for (let k = 0; k < 6; k++) {
      const openid = newOpenId();
      const signed = c.signedFollow(openid);
      const first = k % 3;
      const others = [0, 1, 2].filter((i) => i !== first);
      let answers;
      if (k < 3) {
        // retries while the first delivery is still being answered: they wait for its sealed reply
        const p1 = c.deliverTo(first, signed);
        await sleep(20);
        answers = await Promise.all([p1, ...others.map((i) => c.deliverTo(i, signed))]);
      } else {
        // WeChat's way: the retries come after the first try (its answer was lost on the way back)
        answers = [await c.deliverTo(first, signed)];
        for (const i of others) answers.push(await c.deliverTo(i, signed));
      }
      followers.push({ openid, first, answers });
    }
    for (const f of followers) {
      const where = `follower ${f.openid} (first delivery to instance ${f.first + 1})`;
      for (const a of f.answers) assert.equal(a.status, 200, `${where}: ${JSON.stringify(a)}`);
      const reply = c.openReply(f.answers[0].body);
      assert.equal(reply.ToUserName, f.openid, where);
      assert.match(String(reply.Content), /欢迎关注/, where);
      for (const a of f.answers.slice(1)) assert.equal(a.body, f.answers[0].body, `${where}: a retry on another instance got other bytes than the first delivery`);
    }
    await waitFor(() => followers.every((f) => c.pushesTo(f.openid).length >= 1), { timeoutMs: 60000, what: 'a push to each follower' });
    await sleep(5000); // room for a second flow run to show itself (a second customer or push)
    for (const f of followers) {
      const customers = c.customersOf(f.openid);
      const pushes = c.pushesTo(f.openid);
      assert.equal(customers.length, 1, `one customer for ${f.openid}`);
      assert.equal(pushes.length, 1, `one push for ${f.openid}`);
      assert.match(pushes[0].body.text.content, new RegExp(customers[0].CustomerID));
      assert.match(pushes[0].body.text.content, /has been created/, 'one flow run: the push of a second run would say "found your existing customer record"');
    }
    assert.deepEqual(c.deadLetters().filter((d) => followers.some((f) => f.openid === d.openid)), []);
    // the instances keep their shared state in the one Redis (the bundled flow with REDIS_URL set)
    const keys = require('node:child_process').execFileSync(programPath('redis-cli'), ['-p', String(c.redis.port), '--scan', '--pattern', 'wechat-c4c:*'], { encoding: 'utf8' }).split('\n').filter(Boolean);
    assert.ok(keys.length > 0, 'keys under the wechat-c4c: prefix in Redis');
  });

  /**
   * 300 followers through nginx over ~10 s while C4C answers in 1 s; `midway` runs after half of
   * them were sent. Resolves what happened to each follower.
   */
  async function wave(label, midway, { followers = 300, spanMs = 10000 } = {}) {
    await c4cLatency(1000);
    const openids = [];
    const reports = new Map();
    const sends = [];
    let midAt = 0;
    let midDone;
    const t0 = Date.now();
    for (let i = 0; i < followers; i++) {
      const due = t0 + (i * spanMs) / followers;
      if (due > Date.now()) await sleep(due - Date.now());
      if (i === followers / 2) {
        midAt = Date.now();
        midDone = midway();
      }
      const openid = newOpenId();
      openids.push(openid);
      sends.push(c.sandbox.act('follow', { openid }).then((r) => reports.set(openid, r), (err) => reports.set(openid, { failed: true, error: err.message })));
    }
    await midDone;
    await Promise.all(sends);
    const dead = () => new Map(c.deadLetters().map((d) => [d.openid, d]));
    const settled = () => {
      const d = dead();
      return openids.every((o) => c.pushesTo(o).length > 0 || d.has(o));
    };
    await waitFor(settled, { timeoutMs: claimAfterMs(c) + 60000, intervalMs: 500, what: `${label}: every follower pushed or dead-lettered` }).catch(() => {});
    // Unfinished work of a dead instance / a lost connection is claimed after claimAfter: wait that out
    // so a second run of an entry (a duplicate) would show before we count.
    const quietUntil = midAt + claimAfterMs(c) + 10000;
    if (Date.now() < quietUntil) await sleep(quietUntil - Date.now());
    const d = dead();
    const result = { openids, reports, dead: d, customers: new Map(), pushes: new Map() };
    for (const o of openids) {
      result.customers.set(o, c.customersOf(o));
      result.pushes.set(o, c.pushesTo(o));
    }
    const count = (pred) => openids.filter(pred).length;
    const summary = {
      followers: openids.length,
      unanswered: count((o) => reports.get(o)?.failed),
      customers: count((o) => result.customers.get(o).length > 0),
      duplicateCustomers: count((o) => result.customers.get(o).length > 1),
      pushed: count((o) => result.pushes.get(o).length > 0),
      pushedTwice: count((o) => result.pushes.get(o).length > 1),
      deadLettered: count((o) => d.has(o)),
      silent: count((o) => !result.pushes.get(o).length && !d.has(o)),
      deadLetterCodes: openids.filter((o) => d.has(o)).reduce((acc, o) => {
        const k = `${d.get(o).node}: ${d.get(o).code}`;
        acc[k] = (acc[k] || 0) + 1;
        return acc;
      }, {}),
    };
    console.log(`      ${label}: ${JSON.stringify(summary)}`);
    result.summary = summary;
    return result;
  }

  function assertNoneLost(r) {
    const silent = r.openids.filter((o) => !r.pushes.get(o).length && !r.dead.has(o));
    assert.deepEqual(silent, [], `${silent.length} follower(s) neither pushed nor in a dead-letter file`);
    for (const o of r.openids) {
      const rec = r.dead.get(o);
      if (rec) assert.ok(typeof rec.reason === 'string' && rec.reason.trim(), `dead letter of ${o} has a reason: ${JSON.stringify(rec)}`);
    }
    const dup = r.openids.filter((o) => r.customers.get(o).length > 1);
    assert.deepEqual(dup, [], `${dup.length} follower(s) with more than one C4C customer`);
    const unanswered = r.openids.filter((o) => r.reports.get(o)?.failed);
    assert.deepEqual(unanswered, [], `${unanswered.length} follow(s) WeChat got no answer for in 3 tries`);
    for (const rec of r.dead.values()) assert.ok(rec.openid && rec.reason, `every dead letter names the follower and a reason: ${JSON.stringify(rec)}`);
  }

  it('300 followers through nginx, C4C answering in 1 s, one instance SIGKILLed in the middle: 300 customers, none duplicated, every follower pushed or dead-lettered with a reason', async () => {
    const victim = 1;
    const r = await wave('SIGKILL mid-run', () => c.kill(victim));
    assert.equal(c.instances[victim].alive, false);
    assertNoneLost(r);
    assert.equal(r.summary.customers, 300, '300 customers');
  });

  for (const keepData of [true, false]) {
    const how = keepData ? 'with its data (appendonly, as a production Redis)' : 'empty (no persistence)';
    it(`Redis restarted mid-run, gone for 2 s, back ${how}: 300 customers, none duplicated, every follower pushed or dead-lettered with a reason`, async () => {
      if (!c.instances[1].alive) await c.restart(1); // a supervisor brings the killed instance back
      const r = await wave(`Redis restart mid-run, back ${keepData ? 'with its data' : 'empty'}`, () => c.restartRedis({ downMs: 2000, keepData }));
      assertNoneLost(r);
      // Should a follower's work fail to be queued while Redis is away, it is in a dead letter
      // (STORE_UNAVAILABLE), not a customer; every other follower is a customer.
      for (const o of r.openids.filter((x) => r.dead.has(x) && !r.customers.get(x).length)) {
        assert.equal(r.dead.get(o).code, 'STORE_UNAVAILABLE', `a follower without a customer was dead-lettered because Redis was away: ${JSON.stringify(r.dead.get(o))}`);
      }
      assert.equal(r.summary.customers + r.openids.filter((o) => !r.customers.get(o).length && r.dead.has(o)).length, 300, 'every follower a customer or a dead letter');
      // A queued input waits for Redis to come back (longer than these 2 s): the same as above, 300 customers.
      assert.equal(r.summary.customers, 300, `300 customers; dead letters: ${JSON.stringify([...r.dead.values()].filter((x) => r.openids.includes(x.openid)).slice(0, 5))}`);
      // With its data back, work that finished while Redis was away is acknowledged when it is back:
      // nothing runs twice. (An empty Redis forgets what was finished: the work is added again and a
      // follower may get a second push, "found your existing customer record" — docs/scaling.md.)
      if (keepData) assert.deepEqual(r.openids.filter((o) => r.pushes.get(o).length > 1), [], 'nobody pushed twice');
      // Back to normal once Redis is back (reconnection is automatic): 30 more follows, all pushed once, none dead-lettered.
      const later = Array.from({ length: 30 }, () => newOpenId());
      await Promise.all(later.map((openid) => c.sandbox.act('follow', { openid })));
      await waitFor(() => later.every((o) => c.pushesTo(o).length > 0 || c.deadLetters().some((x) => x.openid === o)), { timeoutMs: 60000, what: 'the follows after Redis came back' });
      assert.deepEqual(later.filter((o) => !c.pushesTo(o).length), [], 'every follow after Redis came back is pushed');
      assert.deepEqual(later.filter((o) => c.customersOf(o).length !== 1), [], 'one customer each');
    });
  }

  it('classic token mode: one token request per token lifetime for all 3 instances (the whole run: start, kill and restart, Redis restart; then a revoked token)', async () => {
    for (const inst of c.instances) if (!inst.alive) await c.restart(inst.index);
    const stats = () => c.sandbox.wechatApi.stats();
    // Every instance pushes (one follow delivered straight to each).
    const first = [0, 1, 2].map(() => newOpenId());
    await Promise.all(first.map((o, i) => c.deliverTo(i, c.signedFollow(o))));
    await waitFor(() => first.every((o) => c.pushesTo(o).length === 1), { timeoutMs: 60000, what: 'a push from every instance' });
    assert.equal(stats().stableTokenRequests, 0, 'classic mode asks /cgi-bin/token only');
    const when = () => [...c.tokenCalls.map((t) => ({ ...t, what: `${t.api} requested` })), ...c.events].sort((a, b) => a.at.localeCompare(b.at)).map((e) => `${e.at.slice(11, 23)} ${e.what}`).join('; ');
    assert.equal(stats().tokenRequests, 1, `one token for all instances in one token lifetime; token calls and events: ${when()}`);
    // WeChat revokes the token: the first instance that sees 40001 drops it (only if it is still the
    // stored one) and fetches one; the others use that one.
    const revoked = await fetch(`${c.sandbox.url}/__sim/wechat/revoke`, { method: 'POST', body: '{}' }).then((res) => res.json());
    assert.ok(revoked.revoked >= 1);
    const after = [0, 1, 2].map(() => newOpenId());
    await Promise.all(after.map((o, i) => c.deliverTo(i, c.signedFollow(o))));
    await waitFor(() => after.every((o) => c.pushesTo(o).length === 1 || c.deadLetters().some((d) => d.openid === o)), { timeoutMs: 60000, what: 'the pushes after the revocation' });
    assert.deepEqual(after.map((o) => c.pushesTo(o).length), [1, 1, 1], 'every follower pushed after the revocation');
    assert.equal(stats().tokenRequests, 2, `one new token for all instances after the revocation; token calls and events: ${when()}`);
  });
});
