'use strict';
// Builds what WeChat sends: signed queries, plaintext and encrypted bodies, for every test layer.
// Signed and encrypted with the sandbox's own WeChat crypto (sandbox/wechat-crypto.ts), never with
// lib/: the code under test must not vouch for its own requests.
const { simSignature, simEncrypt, simDecrypt, simParseXml } = require('../../dist/sandbox/wechat-crypto');

const ACCOUNT = {
  appId: 'wxba5fad812f8e6fb9',
  ghId: 'gh_97417a04a28d',
  token: 'AAAAA',
  encodingAESKey: 'kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR',
  previousEncodingAESKey: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
};

const now = () => String(Math.floor(Date.now() / 1000));
let nonceSeq = 100000;
const nextNonce = () => String(nonceSeq++);

/** WeChat's SHA-1 signature over the sorted strings (token, timestamp, nonce[, encrypt]). */
const sign = (...parts) => simSignature(...parts.map(String));

function cdata(v) {
  return `<![CDATA[${String(v).replace(/]]>/g, ']]]]><![CDATA[>')}]]>`;
}

/** A message XML from fields; strings in CDATA except CreateTime/MsgId, as WeChat sends. */
function messageXml(fields) {
  const body = Object.entries(fields).map(([k, v]) => {
    if (v && typeof v === 'object') return `<${k}>${v.raw}</${k}>`;
    return /^(CreateTime|MsgId|MsgID|Latitude|Longitude|Precision|Location_X|Location_Y|Scale|ArticleCount)$/.test(k) ? `<${k}>${v}</${k}>` : `<${k}>${cdata(v)}</${k}>`;
  }).join('\n');
  return `<xml>\n${body}\n</xml>`;
}

function subscribe(openid, extra = {}) {
  return { ToUserName: ACCOUNT.ghId, FromUserName: openid, CreateTime: now(), MsgType: 'event', Event: 'subscribe', EventKey: '', ...extra };
}

function text(openid, content, msgId = '1234567890123456789') {
  return { ToUserName: ACCOUNT.ghId, FromUserName: openid, CreateTime: now(), MsgType: 'text', Content: content, MsgId: msgId };
}

/** Query + body for a plaintext POST. */
function plainRequest(fields, opts = {}) {
  const timestamp = opts.timestamp || now();
  const nonce = opts.nonce || nextNonce();
  const token = opts.token || ACCOUNT.token;
  const query = { signature: sign(token, timestamp, nonce), timestamp, nonce, openid: fields.FromUserName };
  return { query, body: typeof fields === 'string' ? fields : messageXml(fields) };
}

/** Query + body for a safe-mode (or compatible-mode) POST. */
function safeRequest(fields, opts = {}) {
  const timestamp = opts.timestamp || now();
  const nonce = opts.nonce || nextNonce();
  const token = opts.token || ACCOUNT.token;
  const inner = typeof fields === 'string' ? fields : messageXml(fields);
  const encrypt = simEncrypt(opts.encodingAESKey || ACCOUNT.encodingAESKey, opts.appId || ACCOUNT.appId, inner);
  const outerFields = opts.compatible ? { ...fields, Encrypt: encrypt } : { ToUserName: fields.ToUserName || ACCOUNT.ghId, Encrypt: encrypt };
  const query = {
    signature: sign(token, timestamp, nonce),
    timestamp, nonce, openid: fields.FromUserName, encrypt_type: 'aes',
    msg_signature: sign(token, timestamp, nonce, encrypt),
  };
  return { query, body: messageXml(outerFields), encrypt };
}

/** Verify and decrypt a safe-mode reply the way WeChat does; returns the inner XML. */
function openReply(xml, opts = {}) {
  const outer = simParseXml(xml);
  const token = opts.token || ACCOUNT.token;
  const sig = sign(token, outer.TimeStamp, outer.Nonce, outer.Encrypt);
  if (sig !== outer.MsgSignature) throw new Error('reply MsgSignature does not verify');
  return { outer, inner: simDecrypt(opts.encodingAESKey || ACCOUNT.encodingAESKey, opts.appId || ACCOUNT.appId, outer.Encrypt) };
}

function toQueryString(query) {
  return new URLSearchParams(query).toString();
}

module.exports = { ACCOUNT, sign, messageXml, subscribe, text, plainRequest, safeRequest, openReply, toQueryString, now, nextNonce };
