'use strict';
// The simulated WeChat server has its own crypto (no lib/ import). Both implementations must agree
// with WeChat's public vectors and with each other, so that a bug in either one shows up here.
const assert = require('node:assert/strict');
const lib = require('../../dist/lib');
const sim = require('../../dist/sandbox/wechat-crypto');
const { vectors } = require('../fixtures/wechat-crypto-vectors.json');

describe('sandbox WeChat crypto (independent of lib/)', () => {
  for (const v of vectors.filter((x) => x.kind === 'encrypted_inbound' || x.kind === 'encrypted_reply')) {
    it(`${v.id}: decrypts the public vector and signs it as WeChat does`, () => {
      assert.equal(sim.simDecrypt(v.encoding_aes_key, v.expected_appid || v.appid, v.encrypt), v.expected_plaintext);
      assert.equal(sim.simSignature(v.token, v.timestamp, v.nonce, v.encrypt), v.expected_signature);
    });
  }
  for (const v of vectors.filter((x) => x.kind === 'url_verification_signature')) {
    it(`${v.id}: URL verification signature`, () => assert.equal(sim.simSignature(v.token, v.timestamp, v.nonce), v.expected_signature));
  }
  it('round trips with lib/ both ways (UTF-8, every padding length)', () => {
    const encodingAESKey = 'jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C';
    const key = lib.decodeAESKey(encodingAESKey);
    for (let n = 0; n < 70; n++) {
      const text = '粉丝'.repeat(n % 5) + 'x'.repeat(n);
      assert.equal(lib.decryptMessage(key, sim.simEncrypt(encodingAESKey, 'wx1234567890abcdef', text), 'wx1234567890abcdef').message, text);
      assert.equal(sim.simDecrypt(encodingAESKey, 'wx1234567890abcdef', lib.encryptMessage(key, 'wx1234567890abcdef', text)), text);
    }
  });
  it('refuses a wrong AppID, broken padding, a DTD and a non-<xml> root', () => {
    const k = 'jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C';
    assert.throws(() => sim.simDecrypt(k, 'wxother', sim.simEncrypt(k, 'wx1234567890abcdef', 'hi')), /AppID/);
    assert.throws(() => sim.simDecrypt(k, 'wx1', Buffer.alloc(32, 1).toString('base64')));
    assert.throws(() => sim.simParseXml('<!DOCTYPE x [<!ENTITY a "b">]><xml><A>&a;</A></xml>'), /DTD/);
    assert.throws(() => sim.simParseXml('<root/>'), /root/);
    assert.equal(sim.simParseXml(`<xml><C>${sim.simCdata('a]]>b')}</C></xml>`).C, 'a]]>b');
  });
});
