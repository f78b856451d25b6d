'use strict';
const assert = require('node:assert/strict');
const lib = require('../../dist/lib');

const ctx = { toUser: 'oFollower', fromUser: 'gh_account', createTime: 1714112445 };

describe('buildReplyXml', () => {
  it('text: To/From swapped, CreateTime in seconds, content in CDATA', () => {
    const { xml } = lib.buildReplyXml('text', { Content: '欢迎 welcome 😀' }, { ...ctx, createTime: 1714112445.9 });
    const m = lib.parseMessageXml(xml);
    assert.deepEqual(m, { ToUserName: 'oFollower', FromUserName: 'gh_account', CreateTime: '1714112445', MsgType: 'text', Content: '欢迎 welcome 😀' });
  });
  it('a ]]> inside content cannot break the XML', () => {
    const evil = 'a]]><MsgType>hack</MsgType><![CDATA[b]]>]]>';
    const { xml } = lib.buildReplyXml('text', { Content: evil }, ctx);
    const m = lib.parseMessageXml(xml);
    assert.equal(m.Content, evil);
    assert.equal(m.MsgType, 'text');
  });
  it('control characters XML cannot carry are dropped, not emitted', () => {
    const { xml } = lib.buildReplyXml('text', { Content: 'a\u0000b\u0007c\td\ne' }, ctx);
    assert.equal(lib.parseMessageXml(xml).Content, 'abc\td\ne');
  });
  it('lone surrogates, U+FFFE and U+FFFF are dropped too; a surrogate pair (emoji) is kept', () => {
    const { xml } = lib.buildReplyXml('text', { Content: 'a\uD800b\uDC00c\uFFFEd\uFFFFe😀f\uDBFF' }, ctx);
    assert.equal(lib.parseMessageXml(xml).Content, 'abcde😀f');
    const plain = 'nothing to drop: 你好 😀 ]]> <a>';
    assert.equal(lib.parseMessageXml(lib.buildReplyXml('text', { Content: plain }, ctx).xml).Content, plain);
  });
  it('the webhook refuses every character XML forbids, raw, on both parser paths', () => {
    for (const bad of ['\u0000', '\u0008', '\u000B', '\u001F', '\uFFFE', '\uFFFF', '\uD800', '\uDFFF', 'x\uDBFFy']) {
      for (const xml of [`<xml><A>${bad}</A></xml>`, `<xml><A><![CDATA[${bad}]]></A></xml>`]) {
        assert.throws(() => lib.parseMessageXml(xml), /forbids/, JSON.stringify(xml));
        assert.throws(() => lib.parseMessageXmlFull(xml), /forbids/, JSON.stringify(xml));
      }
    }
    assert.equal(lib.parseMessageXml('<xml><A><![CDATA[😀\t\n]]></A></xml>').A, '😀\t\n');
  });
  it('image, voice, video, music', () => {
    assert.deepEqual(lib.parseMessageXml(lib.buildReplyXml('image', { MediaId: 'm1' }, ctx).xml).Image, { MediaId: 'm1' });
    assert.deepEqual(lib.parseMessageXml(lib.buildReplyXml('voice', { mediaId: 'm2' }, ctx).xml).Voice, { MediaId: 'm2' });
    assert.deepEqual(lib.parseMessageXml(lib.buildReplyXml('video', { MediaId: 'm3', Title: 't', Description: 'd' }, ctx).xml).Video, { MediaId: 'm3', Title: 't', Description: 'd' });
    const music = lib.parseMessageXml(lib.buildReplyXml('music', { Title: 't', MusicUrl: 'http://m', HQMusicUrl: 'http://hq', ThumbMediaId: 'th' }, ctx).xml);
    assert.deepEqual(music.Music, { Title: 't', Description: '', MusicUrl: 'http://m', HQMusicUrl: 'http://hq', ThumbMediaId: 'th' });
  });
  it('news: ArticleCount and items; capped at 8 (1 for a user message)', () => {
    const articles = Array.from({ length: 10 }, (_, i) => ({ Title: `T${i}`, Description: 'd', PicUrl: 'http://p', Url: 'http://u' }));
    const built = lib.buildReplyXml('news', { Articles: articles }, ctx);
    const m = lib.parseMessageXml(built.xml);
    assert.equal(m.ArticleCount, '8');
    assert.equal(m.Articles.item.length, 8);
    assert.equal(built.droppedArticles, 2);
    const one = lib.buildReplyXml('news', { Articles: articles }, { ...ctx, maxArticles: 1 });
    assert.equal(lib.parseMessageXml(one.xml).ArticleCount, '1');
  });
  it('transfer_customer_service, with and without a KfAccount', () => {
    assert.equal(lib.parseMessageXml(lib.buildReplyXml('transfer_customer_service', {}, ctx).xml).MsgType, 'transfer_customer_service');
    assert.deepEqual(lib.parseMessageXml(lib.buildReplyXml('transfer_customer_service', { KfAccount: 'kf@x' }, ctx).xml).TransInfo, { KfAccount: 'kf@x' });
  });
  it('success is the bare word', () => {
    assert.equal(lib.buildReplyXml('success', {}, ctx).xml, 'success');
  });
  it('missing required fields are clear errors', () => {
    assert.throws(() => lib.buildReplyXml('text', {}, ctx), /text reply needs Content/);
    assert.throws(() => lib.buildReplyXml('image', {}, ctx), /needs MediaId/);
    assert.throws(() => lib.buildReplyXml('news', { Articles: [] }, ctx), /Articles/);
  });
  it('normaliseFields: strings become the main field', () => {
    assert.deepEqual(lib.normaliseFields('text', 'hi'), { Content: 'hi' });
    assert.deepEqual(lib.normaliseFields('image', 'media'), { MediaId: 'media' });
    assert.deepEqual(lib.normaliseFields('news', [{ Title: 'a' }]), { Articles: [{ Title: 'a' }] });
    assert.throws(() => lib.normaliseFields('music', 'x'), /object/);
  });
});

describe('encryptReply', () => {
  it('envelope verifies and decrypts back to the plaintext reply', () => {
    const key = lib.decodeAESKey('kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR');
    const plain = lib.buildReplyXml('text', { Content: '你好' }, ctx).xml;
    const env = lib.parseMessageXml(lib.encryptReply(plain, { key, appId: 'wx1', token: 'tok' }));
    assert.deepEqual(Object.keys(env), ['Encrypt', 'MsgSignature', 'TimeStamp', 'Nonce']);
    assert.equal(env.MsgSignature, lib.wechatSignature('tok', env.TimeStamp, env.Nonce, env.Encrypt));
    assert.match(env.TimeStamp, /^\d{10}$/);
    assert.equal(lib.decryptMessage(key, env.Encrypt, 'wx1').message, plain);
  });
});
