'use strict';
const assert = require('node:assert/strict');
const lib = require('../../dist/lib');

describe('parseMessageXml', () => {
  it('keeps every value a string, exactly as sent', () => {
    const xml = `<xml><ToUserName><![CDATA[gh_1]]></ToUserName>
<FromUserName><![CDATA[oABC]]></FromUserName>
<CreateTime>1714112445</CreateTime>
<MsgType><![CDATA[text]]></MsgType>
<Content><![CDATA[  007 你好 😀\n second line ]]></Content>
<MsgId>9223372036854775807</MsgId>
</xml>`;
    const m = lib.parseMessageXml(xml);
    assert.deepEqual(m, {
      ToUserName: 'gh_1', FromUserName: 'oABC', CreateTime: '1714112445', MsgType: 'text',
      Content: '  007 你好 😀\n second line ', MsgId: '9223372036854775807',
    });
    assert.equal(typeof m.MsgId, 'string');
  });
  it('keeps 64-bit ids beyond Number.MAX_SAFE_INTEGER exact', () => {
    const m = lib.parseMessageXml('<xml><MsgID>18446744073709551615</MsgID><MsgType>event</MsgType></xml>');
    assert.equal(m.MsgID, '18446744073709551615');
  });
  it('keeps leading zeros and numeric-looking content', () => {
    const m = lib.parseMessageXml('<xml><Content>000123</Content><Scale>15</Scale><Location_X>23.134521</Location_X></xml>');
    assert.equal(m.Content, '000123');
    assert.equal(m.Location_X, '23.134521');
  });
  it('decodes the XML entities outside CDATA and leaves CDATA alone', () => {
    const m = lib.parseMessageXml('<xml><Url>http://a/?x=1&amp;y=2</Url><Content><![CDATA[&amp; stays]]></Content></xml>');
    assert.equal(m.Url, 'http://a/?x=1&y=2');
    assert.equal(m.Content, '&amp; stays');
  });
  it('empty and self-closing elements are empty strings', () => {
    const m = lib.parseMessageXml('<xml><EventKey><![CDATA[]]></EventKey><Ticket/><A></A></xml>');
    assert.deepEqual(m, { EventKey: '', Ticket: '', A: '' });
  });
  it('nested event structures (menu scan, pics) become objects, item lists arrays', () => {
    const m = lib.parseMessageXml(`<xml><MsgType>event</MsgType><Event><![CDATA[pic_sysphoto]]></Event>
<SendPicsInfo><Count>1</Count>
<PicList><item><PicMd5Sum><![CDATA[1b5f7c23b5bf75682a53e7b6d163e185]]></PicMd5Sum></item></PicList>
</SendPicsInfo></xml>`);
    assert.deepEqual(m.SendPicsInfo, { Count: '1', PicList: { item: [{ PicMd5Sum: '1b5f7c23b5bf75682a53e7b6d163e185' }] } });
  });
  it('refuses DOCTYPE and ENTITY declarations (XXE, billion laughs)', () => {
    for (const xml of [
      '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><Content>&x;</Content></xml>',
      '<!doctype xml><xml/>',
      '<xml><!ENTITY a "b"></xml>',
    ]) {
      assert.throws(() => lib.parseMessageXml(xml), (e) => e.code === '-40002' && e.errcode === -40002 && /DOCTYPE|ENTITY/.test(e.message));
    }
  });
  it('refuses malformed XML, an empty body and a foreign root', () => {
    assert.throws(() => lib.parseMessageXml('<xml><a></xml>'), /malformed/);
    assert.throws(() => lib.parseMessageXml('<xml><a>1</a>'), /malformed/);
    assert.throws(() => lib.parseMessageXml(''), /empty/);
    assert.throws(() => lib.parseMessageXml('<root><a>1</a></root>'), /root/);
    assert.throws(() => lib.parseMessageXml('<xml>text</xml>'), /fields|text/);
    assert.throws(() => lib.parseMessageXml('not xml'), /malformed|root/);
  });
});

describe('topicOf and dedupeKeyOf', () => {
  it('topics: MsgType, event.<Event>', () => {
    assert.equal(lib.topicOf({ MsgType: 'text' }), 'text');
    assert.equal(lib.topicOf({ MsgType: 'event', Event: 'subscribe' }), 'event.subscribe');
    assert.equal(lib.topicOf({ MsgType: 'event', Event: 'SCAN' }), 'event.SCAN');
  });
  it('messages by sender + MsgId, events by FromUserName + CreateTime + Event + EventKey', () => {
    assert.equal(lib.dedupeKeyOf({ FromUserName: 'o1', MsgId: '123', CreateTime: '1' }), 'm:o1:123');
    assert.notEqual(lib.dedupeKeyOf({ FromUserName: 'o1', MsgId: '123' }), lib.dedupeKeyOf({ FromUserName: 'o2', MsgId: '123' }));
    assert.equal(lib.dedupeKeyOf({ FromUserName: 'o1', CreateTime: '1', Event: 'subscribe' }), 'e:o1:1:subscribe:');
    // Two menu clicks in one second are two events.
    assert.notEqual(lib.dedupeKeyOf({ FromUserName: 'o1', CreateTime: '1', Event: 'CLICK', EventKey: 'A' }), lib.dedupeKeyOf({ FromUserName: 'o1', CreateTime: '1', Event: 'CLICK', EventKey: 'B' }));
    assert.equal(lib.dedupeKeyOf({ FromUserName: 'o1', MsgID: '99', Event: 'TEMPLATESENDJOBFINISH' }), 'm:o1:99');
  });
});
