'use strict';
// The bundled flow as an admin sees it after import: it fits a 1,600-px window next to
// the palette and the sidebar, the welcome reply suits new and returning followers, the push says
// created or found, and token-refresh failures make one dead letter per outage, with the errcode.
const assert = require('node:assert/strict');
const vm = require('node:vm');
const flow = require('../../flows/wechat-c4c.json');

const byId = Object.fromEntries(flow.map((n) => [n.id, n]));

describe('the bundled flow (flows/wechat-c4c.json)', () => {
  it('fits the workspace of a 1,600-px window (palette ≈ 180 px, sidebar ≈ 400 px): right edge ≤ 1,000 px', () => {
    // Node-RED draws a node centred on x, about 7 px per label character plus icon and ports.
    for (const n of flow.filter((x) => x.z === 'wc.tab')) {
      const label = n.type === 'comment' ? n.name : (n.name || n.type);
      const right = n.x + Math.max(100, label.length * 7 + 50) / 2;
      assert.ok(right <= 1000, `${n.id} reaches ${right} px`);
    }
  });

  it('the welcome reply is right for new and returning followers; the push says created or found', () => {
    const welcome = byId['wc.welcome'].content;
    assert.doesNotMatch(welcome, /creating|正在为您建立|welcome back|欢迎回来/i);
    const tpl = byId['wc.text'].template;
    assert.match(tpl, /\{\{#c4c\.created\}\}[^]*created[^]*\{\{\/c4c\.created\}\}/);
    assert.match(tpl, /\{\{\^c4c\.created\}\}[^]*found[^]*\{\{\/c4c\.created\}\}/);
  });

  it('one dead letter per token-refresh outage: retries are dropped until a token arrives again', () => {
    const fn = byId['wc.outage'];
    assert.deepEqual(byId['wc.catch'].wires, [['wc.outage']]);
    assert.ok(byId['wc.token'].wires[0].includes('wc.outage'), 'the token output ends an outage');
    const ctx = new Map();
    const run = (msg) => vm.runInNewContext(`(function (msg) {${fn.func}\n})(msg)`, {
      msg, flow: { get: (k) => ctx.get(k), set: (k, v) => ctx.set(k, v) },
    });
    const failure = () => ({ topic: 'wechat/token', payload: { errcode: 40164 }, error: { message: 'WeChat stable_token failed: 40164 invalid ip', source: { type: 'token-refresh' } } });
    const passed = [failure(), failure(), failure()].map(run).filter(Boolean);
    assert.equal(passed.length, 1, 'three retries of one outage → one dead letter');
    assert.equal(run({ topic: 'wechat/token', payload: { expiresIn: 7200 } }), null, 'a token is not a dead letter');
    assert.ok(run(failure()), 'the next outage is reported again');
    const c4c = { topic: 'event.subscribe', error: { message: 'C4C create failed', source: { type: 'c4c-create-customer' } } };
    assert.ok(run(c4c) && run({ ...c4c }), 'every other failure is a dead letter of its own');
    // the record takes the errcode from msg.payload when the error has no code
    assert.match(byId['wc.record'].rules[0].to, /payload\.errcode/);
  });

  it('replay dead letters: once per follower without a replayed mark, follows only, bad lines skipped', () => {
    assert.equal(byId['wc.replay'].type, 'inject');
    assert.equal(byId['wc.replay'].name, 'replay dead letters');
    assert.deepEqual(byId['wc.pending'].wires, [['wc.customer']], 'through c4c-create-customer: a lookup first');
    assert.ok(byId['wc.push'].wires[0].includes('wc.markReplayed'));
    const statuses = [];
    // (a JSON round trip: the vm's arrays are another realm's)
    const run = (text) => JSON.parse(JSON.stringify(vm.runInNewContext(`(function (msg) {${byId['wc.pending'].func}\n})(msg)`, { msg: { payload: text }, node: { status: (s) => statuses.push(s) } })));
    const lines = [
      { openid: 'oA', topic: 'event.subscribe', appId: 'wx1', code: 'C4C_503' },
      { openid: 'oA', topic: 'event.subscribe', code: '45015' },
      { openid: 'oB', topic: 'event.subscribe' },
      { openid: 'oC', topic: 'text' },
      { openid: 'oD', topic: 'event.subscribe' },
      { openid: 'oD', replayed: true },
      { topic: 'wechat/token', code: '40164' },
    ].map((r) => JSON.stringify(r));
    const [out] = run([...lines, 'not json', ''].join('\n'));
    assert.deepEqual(out.map((m) => m.wechat.openid), ['oA', 'oB']);
    assert.equal(out[0].wechat.appId, 'wx1');
    assert.ok(out.every((m) => m.replay === true && m.topic === 'event.subscribe'));
    assert.deepEqual(run('')[0], []);
    const mark = vm.runInNewContext(`(function (msg) {${byId['wc.markReplayed'].func}\n})(msg)`, { msg: { replay: true, wechat: { openid: 'oA' }, c4c: { customerId: '1000' } } });
    assert.deepEqual({ ...JSON.parse(mark.payload), time: 0 }, { time: 0, openid: 'oA', replayed: true, customerId: '1000' });
    assert.equal(vm.runInNewContext(`(function (msg) {${byId['wc.markReplayed'].func}\n})(msg)`, { msg: { wechat: { openid: 'oA' } } }), null, 'a follow that is not a replay is not marked');
  });

  it('the Chinese copy (examples/wechat-c4c-zh-CN.json) is built from the same source: Chinese names, comment and tab description, everything else equal, still fits', () => {
    const zh = require('../../examples/wechat-c4c-zh-CN.json');
    assert.equal(zh.length, flow.length);
    const TEXT = new Set(['name', 'label', 'info']);
    for (const [i, n] of flow.entries()) {
      const z = zh[i];
      assert.equal(z.id, n.id);
      for (const k of Object.keys(n).filter((key) => !TEXT.has(key))) assert.deepEqual(z[k], n[k], `${n.id}.${k}`);
      if (n.name && !/^(GET|POST) \/|^success$|^SAP C4C$/.test(n.name)) assert.match(z.name, /[\u4e00-\u9fff]/, `${n.id} name in Chinese: ${z.name}`);
      // a Chinese character is about twice as wide as a Latin one
      if (z.z === 'wc.tab') {
        const label = z.type === 'comment' ? z.name : (z.name || z.type);
        const width = [...label].reduce((w, c) => w + (/[\u3000-\u9fff\uff00-\uffef]/.test(c) ? 14 : 7), 0);
        assert.ok(z.x + Math.max(100, width + 50) / 2 <= 1000, `${z.id} reaches past 1,000 px`);
      }
    }
    assert.match(zh.find((n) => n.type === 'tab').info, /死信/);
    assert.equal(zh.find((n) => n.id === 'wc.replay').name, '重放死信');
  });
});
