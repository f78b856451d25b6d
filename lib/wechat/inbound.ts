import { decryptWithKeys } from './crypto';
import { CryptoErrorCode, WeChatCryptoError } from './errors';
import { dedupeKeyOf, parseMessageXml, topicOf, type WeChatMessage } from './message';
import { verifySignature } from './signature';

/** The account settings the inbound check needs. */
export interface InboundAccount {
  appId: string;
  token: string;
  /** Decoded AES keys: the current one first, then the previous one (rotation). */
  keys: readonly Buffer[];
  /** Seconds; 0 = no timestamp check. */
  replayWindow: number;
  /** Largest body accepted, in bytes. */
  maxBodyBytes?: number;
}

export interface InboundRequest {
  method: string;
  query: Record<string, unknown>;
  /** The POST body: a string, a Buffer ("do not parse body"), or whatever a body parser made. */
  body?: unknown;
}

export type InboundResult =
  | { kind: 'echo'; echostr: string }
  | { kind: 'reject'; status: number; reason: string; code: string }
  | {
      kind: 'message';
      message: WeChatMessage;
      topic: string;
      dedupeKey: string;
      encrypted: boolean;
      keyIndex: number;
      timestamp: string;
      nonce: string;
      openid: string;
    };

export const DEFAULT_MAX_BODY_BYTES = 256 * 1024;

function reject(status: number, code: string, reason: string): InboundResult {
  return { kind: 'reject', status, code, reason };
}

function queryString(query: Record<string, unknown>, name: string): string | undefined {
  const v = query[name];
  if (typeof v === 'string') return v;
  return undefined; // absent, or repeated (?a=1&a=2 gives an array): treated as missing
}

const DIGITS = /^\d{1,12}$/;

/**
 * Check and decode one webhook request: GET URL verification or POST message, plaintext,
 * compatible or safe mode. Pure: no I/O, never throws for bad input.
 */
export function handleInbound(req: InboundRequest, account: InboundAccount, nowMs: number = Date.now()): InboundResult {
  const query = req.query && typeof req.query === 'object' ? req.query : {};
  const method = String(req.method || '').toUpperCase();
  if (method !== 'GET' && method !== 'POST') return reject(405, 'method', `method ${method || '?'} not allowed`);

  const timestamp = queryString(query, 'timestamp');
  const nonce = queryString(query, 'nonce');
  const signature = queryString(query, 'signature');
  const encryptType = queryString(query, 'encrypt_type');
  const encrypted = encryptType === 'aes';
  const msgSignature = queryString(query, 'msg_signature');

  const missing: string[] = [];
  if (!timestamp) missing.push('timestamp');
  if (!nonce) missing.push('nonce');
  if (method === 'GET' || !encrypted) {
    if (!signature) missing.push('signature');
  } else if (!msgSignature) missing.push('msg_signature');
  const echostr = queryString(query, 'echostr');
  if (method === 'GET' && echostr === undefined) missing.push('echostr');
  if (missing.length) return reject(400, 'missing-query', `missing query parameter: ${missing.join(', ')}`);
  if (!DIGITS.test(timestamp as string)) return reject(400, 'bad-timestamp', 'timestamp is not a number of seconds');
  if (encryptType !== undefined && encryptType !== 'aes' && encryptType !== 'raw') {
    return reject(400, 'bad-encrypt-type', 'unknown encrypt_type');
  }

  if (method === 'GET') {
    if (!verifySignature(signature, account.token, timestamp as string, nonce as string)) {
      return reject(403, 'bad-signature', 'signature mismatch');
    }
    const replay = checkWindow(timestamp as string, account.replayWindow, nowMs);
    if (replay) return replay;
    return { kind: 'echo', echostr: echostr as string };
  }

  // POST: the body.
  const max = account.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  let xml: string;
  if (Buffer.isBuffer(req.body)) {
    if (req.body.length > max) return reject(413, 'too-large', `body larger than ${max} bytes`);
    xml = req.body.toString('utf8');
  } else if (typeof req.body === 'string') {
    if (Buffer.byteLength(req.body, 'utf8') > max) return reject(413, 'too-large', `body larger than ${max} bytes`);
    xml = req.body;
  } else if (req.body === undefined || req.body === null) {
    return reject(400, 'empty-body', 'empty body');
  } else {
    return reject(415, 'not-xml', 'expected an XML body (text/xml)');
  }
  if (xml.trim() === '') return reject(400, 'empty-body', 'empty body');

  let outer: WeChatMessage;
  try {
    outer = parseMessageXml(xml);
  } catch (err) {
    return reject(400, 'bad-xml', (err as Error).message);
  }

  let message = outer;
  let keyIndex = -1;
  if (encrypted) {
    const encrypt = typeof outer.Encrypt === 'string' ? outer.Encrypt : '';
    if (!encrypt) return reject(400, 'no-encrypt', 'encrypt_type=aes but the body has no <Encrypt>');
    if (!verifySignature(msgSignature, account.token, timestamp as string, nonce as string, encrypt)) {
      return reject(403, 'bad-signature', 'msg_signature mismatch');
    }
    const replay = checkWindow(timestamp as string, account.replayWindow, nowMs);
    if (replay) return replay;
    if (account.keys.length === 0) return reject(500, 'no-aes-key', 'the account has no EncodingAESKey configured');
    let plain: string;
    try {
      const result = decryptWithKeys(account.keys, encrypt, account.appId);
      plain = result.message;
      keyIndex = result.keyIndex;
    } catch (err) {
      if (err instanceof WeChatCryptoError && err.code === CryptoErrorCode.ValidateAppid) {
        return reject(403, 'bad-appid', 'AppID inside the message does not match the account');
      }
      return reject(400, 'decrypt-failed', `cannot decrypt: ${(err as Error).message}`);
    }
    try {
      message = parseMessageXml(plain);
    } catch (err) {
      return reject(400, 'bad-xml', `decrypted ${(err as Error).message}`);
    }
  } else {
    if (!verifySignature(signature, account.token, timestamp as string, nonce as string)) {
      return reject(403, 'bad-signature', 'signature mismatch');
    }
    const replay = checkWindow(timestamp as string, account.replayWindow, nowMs);
    if (replay) return replay;
  }

  if (typeof message.MsgType !== 'string' || message.MsgType === '' || typeof message.FromUserName !== 'string' || message.FromUserName === '') {
    return reject(400, 'not-a-message', 'not a WeChat message (no MsgType or FromUserName)');
  }
  return {
    kind: 'message',
    message,
    topic: topicOf(message),
    dedupeKey: dedupeKeyOf(message),
    encrypted,
    keyIndex,
    timestamp: timestamp as string,
    nonce: nonce as string,
    openid: message.FromUserName,
  };
}

function checkWindow(timestamp: string, windowSeconds: number, nowMs: number): InboundResult | undefined {
  if (!windowSeconds || windowSeconds <= 0) return undefined;
  const skew = Math.abs(Math.floor(nowMs / 1000) - Number(timestamp));
  if (skew > windowSeconds) return reject(403, 'stale', `timestamp is ${skew}s from the server clock (window ${windowSeconds}s)`);
  return undefined;
}
