'use strict';
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const path = require('node:path');
const lib = require('../../dist/lib');
const vectors = require('../fixtures/wechat-crypto-vectors.json').vectors;

const byKind = (kind) => vectors.filter((v) => v.kind === kind);

describe('WeChat signatures (public vectors)', () => {
  for (const v of byKind('url_verification_signature').concat(byKind('plaintext_post_signature'))) {
    it(`${v.id}: sha1(sort(token, timestamp, nonce))`, () => {
      assert.equal(lib.wechatSignature(v.token, v.timestamp, v.nonce), v.expected_signature);
      assert.equal(lib.verifySignature(v.expected_signature, v.token, v.timestamp, v.nonce), true);
      assert.equal(lib.verifySignature(v.expected_signature.toUpperCase(), v.token, v.timestamp, v.nonce), true);
      const wrong = v.expected_signature.slice(0, -1) + (v.expected_signature.endsWith('0') ? '1' : '0');
      assert.equal(lib.verifySignature(wrong, v.token, v.timestamp, v.nonce), false);
      if (v.sorted_concat) assert.equal([v.token, v.timestamp, v.nonce].sort().join(''), v.sorted_concat);
    });
  }
  for (const v of byKind('msg_signature_only')) {
    it(`${v.id}: msg_signature over four parts`, () => {
      assert.equal(lib.wechatSignature(...v.signature_inputs), v.expected_signature);
    });
  }
  it('digest: the one-shot digest equals a Hash object over UTF-8 (non-ASCII, empty)', () => {
    for (const text of ['', 'abc', '你好 😀 <xml>', 'x'.repeat(70000)]) {
      assert.equal(lib.digest('sha1', text, 'hex'), crypto.createHash('sha1').update(text, 'utf8').digest('hex'));
      assert.equal(lib.digest('sha256', text, 'base64'), crypto.createHash('sha256').update(text, 'utf8').digest('base64'));
    }
    assert.equal(lib.wechatSignature('你好', '1', 'b'), crypto.createHash('sha1').update('1b你好', 'utf8').digest('hex'));
  });
  it('safeEqual: equal, unequal, different lengths, empty', () => {
    assert.equal(lib.safeEqual('abc', 'abc'), true);
    assert.equal(lib.safeEqual('abc', 'abd'), false);
    assert.equal(lib.safeEqual('abc', 'abcd'), false);
    assert.equal(lib.verifySignature('', 'a'), false);
    assert.equal(lib.verifySignature(undefined, 'a'), false);
  });
});

describe('WeChat AES (public vectors)', () => {
  for (const v of byKind('encrypted_inbound').concat(byKind('encrypted_reply'))) {
    it(`${v.id}: decrypts to the expected plaintext and appid`, () => {
      const key = lib.decodeAESKey(v.encoding_aes_key);
      assert.equal(key.length, 32);
      const out = lib.decryptMessage(key, v.encrypt, v.appid);
      assert.equal(out.message, v.expected_plaintext);
      assert.equal(out.appId, v.expected_appid);
    });
    it(`${v.id}: msg_signature matches`, () => {
      assert.equal(lib.wechatSignature(v.token, v.timestamp, v.nonce, v.encrypt), v.expected_signature);
    });
    it(`${v.id}: re-encrypting with the vector's random prefix gives the same ciphertext`, () => {
      const key = lib.decodeAESKey(v.encoding_aes_key);
      assert.equal(lib.encryptMessage(key, v.appid, v.expected_plaintext, Buffer.from(v.random16, 'utf8')), v.encrypt);
    });
  }
  it('official safe-mode inbound: the URL query carries the same msg_signature', () => {
    const v = vectors.find((x) => x.id === 'official-safe-mode-inbound');
    const q = new URLSearchParams(v.url_query);
    assert.equal(q.get('msg_signature'), v.expected_signature);
    assert.equal(q.get('signature'), lib.wechatSignature(v.token, v.timestamp, v.nonce));
  });
  it('the wechatpy reply envelope matches the expected reply XML', () => {
    const v = vectors.find((x) => x.id === 'wechatpy-work-encrypt-deterministic');
    const xml = lib.encryptReply(v.expected_plaintext, {
      key: lib.decodeAESKey(v.encoding_aes_key), appId: v.appid, token: v.token,
      timestamp: v.timestamp, nonce: v.nonce, random16: Buffer.from(v.random16),
    });
    const parsed = lib.parseMessageXml(xml);
    assert.equal(parsed.Encrypt, v.encrypt);
    assert.equal(parsed.MsgSignature, v.expected_signature);
    assert.equal(parsed.TimeStamp, v.timestamp);
    assert.equal(parsed.Nonce, v.nonce);
  });
});

describe('WeChat AES round trips', () => {
  const key = crypto.randomBytes(32);
  const alphabet = ['a', 'Z', '0', ' ', '\n', '你', '好', '公众号', '😀', '👍🏽', '<', '&', ']]>', 'é'];
  function randomText(bytes) {
    let s = '';
    while (Buffer.byteLength(s) < bytes) s += alphabet[crypto.randomInt(alphabet.length)];
    return s;
  }
  it('300 random UTF-8 messages of 0..5000 bytes survive encrypt -> decrypt', () => {
    for (let i = 0; i < 300; i++) {
      const msg = i === 0 ? '' : randomText(crypto.randomInt(5001));
      const enc = lib.encryptMessage(key, 'wx1234567890abcdef', msg);
      const dec = lib.decryptMessage(key, enc, 'wx1234567890abcdef');
      assert.equal(dec.message, msg);
      assert.equal(dec.appId, 'wx1234567890abcdef');
    }
  });
  it('every padding value 1..32 is produced and accepted', () => {
    const seen = new Set();
    const appId = 'wx0123456789abcdef'; // 18 bytes: 16 + 4 + msg + 18
    for (let len = 0; len < 32; len++) {
      const msg = 'x'.repeat(len);
      const enc = lib.encryptMessage(key, appId, msg);
      const raw = Buffer.from(enc, 'base64');
      const d = crypto.createDecipheriv('aes-256-cbc', key, key.subarray(0, 16));
      d.setAutoPadding(false);
      const plain = Buffer.concat([d.update(raw), d.final()]);
      const pad = plain[plain.length - 1];
      seen.add(pad);
      assert.equal(lib.decryptMessage(key, enc, appId).message, msg);
    }
    assert.deepEqual([...seen].sort((a, b) => a - b), Array.from({ length: 32 }, (_, i) => i + 1));
  });
});

describe('WeChat AES negative cases', () => {
  const v = vectors.find((x) => x.id === 'official-safe-mode-inbound');
  const key = lib.decodeAESKey(v.encoding_aes_key);
  const codeOf = (fn) => { try { fn(); } catch (e) { assert.ok(e instanceof lib.WeChatCryptoError, String(e)); return e.code; } assert.fail('no error'); };

  // Build a ciphertext over an arbitrary (possibly malformed) padded plaintext.
  function rawEncrypt(plain) {
    const c = crypto.createCipheriv('aes-256-cbc', key, key.subarray(0, 16));
    c.setAutoPadding(false);
    return Buffer.concat([c.update(plain), c.final()]).toString('base64');
  }

  it('wrong appid -> -40005', () => {
    assert.equal(codeOf(() => lib.decryptMessage(key, v.encrypt, 'wx0000000000000000')), '-40005');
  });
  it('pad value 0 and 33 and inconsistent pad bytes -> -40007', () => {
    const body = Buffer.alloc(64, 0x41);
    body[63] = 0;
    assert.equal(codeOf(() => lib.decryptMessage(key, rawEncrypt(body))), '-40007');
    body[63] = 33;
    assert.equal(codeOf(() => lib.decryptMessage(key, rawEncrypt(body))), '-40007');
    body[63] = 3; body[62] = 3; body[61] = 4;
    assert.equal(codeOf(() => lib.decryptMessage(key, rawEncrypt(body))), '-40007');
  });
  it('length prefix larger than the buffer -> -40008', () => {
    const body = Buffer.alloc(64, 0x41);
    body.writeUInt32BE(1000, 16);
    body.fill(4, 60);
    assert.equal(codeOf(() => lib.decryptMessage(key, rawEncrypt(body))), '-40008');
  });
  it('truncated ciphertext (not whole blocks, or shorter than a block) -> -40008', () => {
    const raw = Buffer.from(v.encrypt, 'base64');
    assert.equal(codeOf(() => lib.decryptMessage(key, raw.subarray(0, raw.length - 5).toString('base64'))), '-40008');
    assert.equal(codeOf(() => lib.decryptMessage(key, raw.subarray(0, 16).toString('base64'))), '-40008');
  });
  it('ciphertext cut by a whole block still fails cleanly', () => {
    const raw = Buffer.from(v.encrypt, 'base64');
    const code = codeOf(() => lib.decryptMessage(key, raw.subarray(0, raw.length - 32).toString('base64'), v.appid));
    assert.ok(['-40005', '-40007', '-40008'].includes(code), String(code));
  });
  it('bad base64 -> -40010', () => {
    assert.equal(codeOf(() => lib.decryptMessage(key, 'not base64!!')), '-40010');
    assert.equal(codeOf(() => lib.decryptMessage(key, v.encrypt.slice(1))), '-40010');
    assert.equal(codeOf(() => lib.decryptMessage(key, '')), '-40010');
    // what Node's lenient decoder would skip or accept: a character outside the alphabet, `=` inside, non-zero padding bits
    assert.equal(codeOf(() => lib.decryptMessage(key, `${v.encrypt.slice(0, 8)}.${v.encrypt.slice(9)}`)), '-40010');
    assert.equal(codeOf(() => lib.decryptMessage(key, `${v.encrypt.slice(0, 8)}=${v.encrypt.slice(9)}`)), '-40010');
    assert.equal(codeOf(() => lib.decodeBase64Strict('QR==')), '-40010', "'QR==' has padding bits set ('QQ==' is the canonical form)");
    assert.deepEqual(lib.decodeBase64Strict('QQ=='), Buffer.from('A'));
  });
  it('a wrong key -> a decrypt error, not garbage', () => {
    const other = crypto.randomBytes(32);
    const code = codeOf(() => lib.decryptMessage(other, v.encrypt, v.appid));
    assert.ok(['-40005', '-40007', '-40008'].includes(code), String(code));
  });
  it('EncodingAESKey of the wrong length or alphabet -> -40004', () => {
    assert.equal(codeOf(() => lib.decodeAESKey('short')), '-40004');
    assert.equal(codeOf(() => lib.decodeAESKey('A'.repeat(44))), '-40004');
    assert.equal(codeOf(() => lib.decodeAESKey('A'.repeat(42) + '!')), '-40004');
    assert.equal(codeOf(() => lib.decodeAESKey(undefined)), '-40004');
  });
  it('error messages never contain the key', () => {
    try { lib.decodeAESKey('A'.repeat(42) + '!'); } catch (e) { assert.ok(!e.message.includes('AAAAAAAAAA')); }
  });
  it('key rotation: the previous key decrypts and is reported by index', () => {
    const fresh = crypto.randomBytes(32);
    const out = lib.decryptWithKeys([fresh, key], v.encrypt, v.appid);
    assert.equal(out.keyIndex, 1);
    assert.equal(out.message, v.expected_plaintext);
    assert.equal(codeOf(() => lib.decryptWithKeys([fresh], v.encrypt, v.appid)) < 0, true);
  });
});

describe('WeChat AES random prefix', () => {
  it('two encryptions of the same message differ (fresh random prefix) and both decrypt', () => {
    const key = crypto.randomBytes(32);
    const seen = new Set();
    for (let i = 0; i < 600; i++) seen.add(lib.encryptMessage(key, 'wx1', 'same message'));
    assert.equal(seen.size, 600);
    for (const enc of seen) assert.equal(lib.decryptMessage(key, enc, 'wx1').message, 'same message');
  });
});
