'use strict';
// Builds what WeChat sends: signed queries, plaintext and encrypted bodies, for every test layer.
const lib = require('../../dist/lib');

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
  const query = { signature: lib.wechatSignature(token, timestamp, nonce), timestamp, nonce, openid: fields.FromUserName };
  return { query, body: typeof fields === 'string' ? fields : messageXml(fields) };
}

/** Query + body for a safe-mode (or compatible-mode) POST. */
function safeRequest(fields, opts = {}) {
  const timestamp = opts.timestamp || now();
  const nonce = opts.nonce || nextNonce();
  const token = opts.token || ACCOUNT.token;
  const key = lib.decodeAESKey(opts.encodingAESKey || ACCOUNT.encodingAESKey);
  const inner = typeof fields === 'string' ? fields : messageXml(fields);
  const encrypt = lib.encryptMessage(key, opts.appId || ACCOUNT.appId, inner);
  const outerFields = opts.compatible ? { ...fields, Encrypt: encrypt } : { ToUserName: fields.ToUserName || ACCOUNT.ghId, Encrypt: encrypt };
  const query = {
    signature: lib.wechatSignature(token, timestamp, nonce),
    timestamp, nonce, openid: fields.FromUserName, encrypt_type: 'aes',
    msg_signature: lib.wechatSignature(token, timestamp, nonce, encrypt),
  };
  return { query, body: messageXml(outerFields), encrypt };
}

/** Verify and decrypt a safe-mode reply the way WeChat does; returns the inner XML. */
function openReply(xml, opts = {}) {
  const outer = lib.parseMessageXml(xml);
  const token = opts.token || ACCOUNT.token;
  const sig = lib.wechatSignature(token, outer.TimeStamp, outer.Nonce, outer.Encrypt);
  if (sig !== outer.MsgSignature) throw new Error('reply MsgSignature does not verify');
  const key = lib.decodeAESKey(opts.encodingAESKey || ACCOUNT.encodingAESKey);
  return { outer, inner: lib.decryptMessage(key, outer.Encrypt, opts.appId || ACCOUNT.appId).message };
}

function toQueryString(query) {
  return new URLSearchParams(query).toString();
}

module.exports = { ACCOUNT, messageXml, subscribe, text, plainRequest, safeRequest, openReply, toQueryString, now, nextNonce };
