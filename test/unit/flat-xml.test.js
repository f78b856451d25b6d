'use strict';
// The fast path for flat messages must agree with fast-xml-parser + validator on every input it
// accepts: same fields, same strings. Anything else it hands over.
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const lib = require('../../dist/lib');
const W = require('../helpers/wechat');

function rng(seed) {
  let s = seed >>> 0;
  return () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
}

function outcome(fn, xml) {
  try {
    return { ok: fn(xml) };
  } catch (e) {
    return { error: e.code };
  }
}

describe('flat XML fast path', () => {
  it('takes the common messages', () => {
    for (const m of [W.subscribe('o1'), W.text('o1', ' 你好 00 😀 \n'), { ...W.subscribe('o'), EventKey: '' }]) {
      const xml = W.messageXml(m);
      assert.ok(lib.parseFlatXml(xml), xml);
      assert.deepEqual(lib.parseFlatXml(xml), lib.parseMessageXmlFull(xml));
    }
    assert.deepEqual(lib.parseFlatXml('<?xml version="1.0" encoding="UTF-8"?>\n<xml><A><![CDATA[a]]]]><![CDATA[>b]]></A><B/><C>1</C></xml>\n'), { A: 'a]]>b', B: '', C: '1' });
  });
  it('hands over what it does not handle', () => {
    for (const xml of [
      '<xml><A><B>1</B></A></xml>', '<xml><A x="1">1</A></xml>', '<xml><A>a &amp; b</A></xml>', '<xml><!-- c --><A>1</A></xml>',
      '<xml><A>1</A><A>2</A></xml>', '<xml>text<A>1</A></xml>', '<xml><A>1</A>', '<xml><A>1</B></xml>', '<root><A>1</A></root>',
      '<xml><A>1</A></xml><xml/>', '<xml></xml>', '<xml><__proto__>1</__proto__></xml>', '<xml><A>\u0001</A></xml>',
      '<xml><A><![CDATA[1]]> </A></xml>', '<xml ><A>1</A></xml>',
    ]) {
      assert.equal(lib.parseFlatXml(xml), undefined, xml);
    }
  });
  it('agrees with fast-xml-parser on 20,000 generated and mutated inputs', () => {
    const rand = rng(7);
    const pieces = ['<', '>', '/', '<![CDATA[', ']]>', '&', '&amp;', ' ', '\n', '\r\n', 'A', '<A>', '</A>', '<xml>', '</xml>', '"', '\u0000', '你', '😀', '?>', '<?xml version="1.0"?>'];
    let agreedFast = 0;
    for (let i = 0; i < 20000; i++) {
      const fields = rand() < 0.5 ? W.subscribe(`o${i}`) : W.text(`o${i}`, crypto.randomBytes(6).toString('base64'));
      let xml = W.messageXml(fields);
      const edits = Math.floor(rand() * 4);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(rand() * (xml.length + 1));
        const op = rand();
        if (op < 0.4) xml = xml.slice(0, at) + pieces[Math.floor(rand() * pieces.length)] + xml.slice(at);
        else if (op < 0.7) xml = xml.slice(0, at) + xml.slice(at + 1 + Math.floor(rand() * 5));
        else xml = xml.slice(0, at) + String.fromCharCode(Math.floor(rand() * 128)) + xml.slice(at + 1);
      }
      const fast = lib.parseFlatXml(xml);
      if (fast === undefined) continue;
      const full = outcome(lib.parseMessageXmlFull, xml);
      assert.deepEqual({ ok: fast }, full, `disagreement on ${JSON.stringify(xml)}`);
      agreedFast++;
    }
    assert.ok(agreedFast > 3000, `the fast path took ${agreedFast} inputs`);
  });
});
