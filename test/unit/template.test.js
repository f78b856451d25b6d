'use strict';
const assert = require('node:assert/strict');
const { templateData, TemplateDataError, deliverPush, buildPush, buildFallback, FallbackError, WeChatApiError } = require('../../dist/lib');
const { simValueOk } = require('../../dist/sandbox/wechat-api');

const refused = (data, channel = 'template') => {
  try {
    templateData(data, channel);
  } catch (err) {
    assert.ok(err instanceof TemplateDataError);
    assert.equal(err.code, 'TEMPLATE_DATA');
    return err.issues.map((i) => i.key);
  }
  return [];
};

describe('template data rules (2023 template-message changes)', () => {
  it('wraps plain values as {value} strings and keeps {value} objects', () => {
    assert.deepEqual(templateData({ character_string1: 1000441, thing2: { value: '欢迎' } }, 'template'), { character_string1: { value: '1000441' }, thing2: { value: '欢迎' } });
  });

  it('thing: 20 characters pass, 21 are refused (Chinese counted per character)', () => {
    assert.deepEqual(refused({ thing1: '一'.repeat(20) }), []);
    assert.deepEqual(refused({ thing1: '一'.repeat(21) }), ['thing1']);
  });

  it('first, remark and colours are dropped (WeChat ignores them since 2023-05), the rest still checked', () => {
    const dropped = [];
    assert.deepEqual(templateData({ first: '您好', thing1: { value: 'a', color: '#ff0000' }, remark: '谢谢' }, 'template', dropped), { thing1: { value: 'a' } });
    assert.deepEqual(dropped, ['first', 'thing1.color'].concat('remark'));
    assert.deepEqual(refused({ first: 'x', thing1: { value: '一'.repeat(21), color: '#ff0000' } }), ['thing1']);
    assert.deepEqual(refused({ thing1: { value: 'a', colour: '#ff0000' } }), ['thing1'], 'an unknown field is still refused');
  });

  it('a template push drops first/remark/colours and the top-level topcolor/color, and says which', () => {
    const nested = buildPush('template', 'o1', { data: { first: 'x', thing1: { value: 'a', color: '#f00' } }, topcolor: '#f00' }, 'T1');
    assert.deepEqual(nested.body, { touser: 'o1', template_id: 'T1', data: { thing1: { value: 'a' } } });
    assert.deepEqual(nested.dropped, ['topcolor', 'first', 'thing1.color']);
    const flat = buildPush('template', 'o1', { thing1: 'a', remark: 'y', color: '#f00', url: 'https://x' }, 'T1');
    assert.deepEqual(flat.body, { touser: 'o1', template_id: 'T1', data: { thing1: { value: 'a' } }, url: 'https://x' });
    assert.deepEqual(flat.dropped, ['color', 'remark']);
    assert.deepEqual(buildFallback('subscribe', 'o1', 'S1', { thing1: { value: 'a', color: '#f00' } }).dropped, ['thing1.color']);
  });

  for (const [key, ok, bad] of [
    ['number3', '12345.67', '12a'],
    ['letter1', 'abcXYZ', 'abc1'],
    ['symbol1', '#*', '######'],
    ['character_string9', 'C4C-1000441_x', '客户1000441'],
    ['time4', '2026年12月1日 15:01', 'tomorrow'],
    ['date2', '2026-12-01~2026-12-02', '下周一'],
    ['amount5', '¥1234.50元', '¥12345678901234'],
    ['phone_number1', '+86-0766-66888866', '+86-0766-6688886612'],
    ['car_number1', '粤A8Z888挂', '粤A8Z888挂12'],
    ['name1', '张三', '张三李四王五赵六钱七孙'],
    ['phrase1', '配送中', '配送中了吗啊'],
    ['keyword1', '旧模板的一行', '旧模板的一行超过二十个字符的内容会被截断的啊'],
  ]) {
    it(`${key}: ${ok} passes, ${bad} is refused — and the simulator agrees`, () => {
      assert.deepEqual(refused({ [key]: ok }), []);
      assert.deepEqual(refused({ [key]: bad }), [key]);
      assert.equal(simValueOk(key, ok, 'template'), true);
      assert.equal(simValueOk(key, bad, 'template'), false);
    });
  }

  it('amount: 12 digits for template messages, 10 for subscription notices', () => {
    assert.deepEqual(refused({ amount1: '¥123456789012' }, 'template'), []);
    assert.deepEqual(refused({ amount1: '¥123456789012' }, 'subscribe'), ['amount1']);
  });

  it('empty data, empty values and objects without value are refused, every field listed', () => {
    assert.deepEqual(refused({}), ['(data)']);
    assert.deepEqual(refused('text'), ['(data)']);
    assert.deepEqual(refused({ thing1: '', thing2: { x: 1 }, thing3: 'ok' }), ['thing1', 'thing2']);
  });
});

describe('deliverPush: the fallback after 45015/45047', () => {
  const apiErr = (api, code) => new WeChatApiError(api, code, 'x');
  function sender(answers) {
    const calls = [];
    const make = (api) => async (body) => {
      calls.push({ api, body });
      const a = answers[api];
      if (a instanceof Error) throw a;
      return a;
    };
    return { calls, sendCustom: make('custom'), sendTemplate: make('template'), sendSubscribe: make('subscribe') };
  }
  const custom = { api: 'custom', body: { touser: 'o1', msgtype: 'text', text: { content: 'hi' } } };
  const fb = buildFallback('template', 'o1', 'T1', { character_string1: '1000441' }, 'https://x');

  it('custom success: no fallback call', async () => {
    const s = sender({ custom: { errcode: 0 } });
    assert.deepEqual((await deliverPush(s, custom, fb)).channel, 'custom');
    assert.equal(s.calls.length, 1);
  });

  for (const code of [45015, 45047]) {
    it(`${code}: the template goes to the same follower, msgid kept as a string`, async () => {
      const s = sender({ custom: apiErr('custom', code), template: { errcode: 0, msgid: '4611686018427387905' } });
      const out = await deliverPush(s, custom, fb);
      assert.deepEqual([out.channel, out.msgid, out.firstCode], ['template', '4611686018427387905', String(code)]);
      assert.equal(s.calls[1].body.touser, 'o1');
      assert.equal(s.calls[1].body.url, 'https://x');
    });
  }

  it('other errcodes do not fall back', async () => {
    const s = sender({ custom: apiErr('custom', 40003) });
    await assert.rejects(deliverPush(s, custom, fb), (e) => e.code === '40003');
    assert.equal(s.calls.length, 1);
  });

  it('both failing: FallbackError with code = the fallback errcode and both codes', async () => {
    const s = sender({ custom: apiErr('custom', 45015), subscribe: apiErr('subscribe', 43101) });
    const sub = buildFallback('subscribe', 'o1', 'S1', { thing1: 'a' }, 'https://x');
    assert.equal(sub.body.page, 'https://x');
    await assert.rejects(deliverPush(s, custom, sub), (e) => e instanceof FallbackError && e.code === '43101' && e.firstCode === '45015' && e.codes.join() === '45015,43101' && e.hintKey === '43101');
  });
});
