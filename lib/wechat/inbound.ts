import { decryptWithKeys } from './crypto';
import { CryptoErrorCode, WeChatCryptoError } from './errors';
import { dedupeKeyOf, parseMessageXml, topicOf, type WeChatMessage } from './message';
import { digest, verifySignature } from './signature';
import { TtlCache } from '../util/ttl-cache';

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
  /** Plaintext mode: refuses a signature reused with another body (absent: not checked). */
  replayGuard?: ReplayGuard;
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

  // POST. Everything the query can prove is checked before the body is looked at, so an
  // unsigned caller costs one SHA-1 and learns nothing about the parser (403 before any parse).
  if (!encrypted) {
    if (!verifySignature(signature, account.token, timestamp as string, nonce as string)) {
      return reject(403, 'bad-signature', 'signature mismatch');
    }
    const replay = checkWindow(timestamp as string, account.replayWindow, nowMs);
    if (replay) return replay;
  }

  const max = account.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  let xml: string;
  if (Buffer.isBuffer(req.body)) {
    if (req.body.length > max) return reject(413, 'too-large', `body larger than ${max} bytes`);
    xml = req.body.toString('utf8');
  } else if (typeof req.body === 'string') {
    if (req.body.length > max || Buffer.byteLength(req.body, 'utf8') > max) return reject(413, 'too-large', `body larger than ${max} bytes`);
    xml = req.body;
  } else if (req.body === undefined || req.body === null) {
    return reject(400, 'empty-body', 'empty body');
  } else {
    return reject(415, 'not-xml', 'expected an XML body (text/xml)');
  }
  if (xml.trim() === '') return reject(400, 'empty-body', 'empty body');

  let message: WeChatMessage;
  let keyIndex = -1;
  if (encrypted) {
    // Safe mode: the one <Encrypt> value by a bounded scan (no parse), msg_signature over it and
    // the timestamp, and only then decryption and parsing of what WeChat itself encrypted.
    const encrypt = findEncrypt(xml);
    if (encrypt === undefined) return reject(400, 'no-encrypt', 'encrypt_type=aes but the body has no single <Encrypt>');
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
      if (err instanceof WeChatCryptoError && err.errcode === CryptoErrorCode.ValidateAppid) {
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
    // Plaintext: the signature does not cover the body. The same signature with another body is a
    // forgery (a captured query replayed with a made-up message); the same body is WeChat's retry.
    if (account.replayGuard && !account.replayGuard.check(signature as string, xml, account.replayWindow, nowMs)) {
      return reject(403, 'replayed', 'this signature was already used with another body');
    }
    try {
      message = parseMessageXml(xml);
    } catch (err) {
      return reject(400, 'bad-xml', (err as Error).message);
    }
  }

  if (typeof message.MsgType !== 'string' || message.MsgType === '' || typeof message.FromUserName !== 'string' || message.FromUserName === '') {
    return reject(400, 'not-a-message', 'not a WeChat message (no MsgType or FromUserName)');
  }
  for (const field of ['FromUserName', 'ToUserName'] as const) {
    const v = message[field];
    if (typeof v === 'string' && v.length > MAX_ID_CHARS) return reject(400, 'field-too-long', `${field} longer than ${MAX_ID_CHARS} characters`);
  }
  if (typeof message.CreateTime === 'string' && !DIGITS.test(message.CreateTime)) return reject(400, 'bad-field', 'CreateTime is not a number of seconds');
  const msgId = typeof message.MsgId === 'string' ? message.MsgId : typeof message.MsgID === 'string' ? message.MsgID : undefined;
  if (msgId !== undefined && !/^\d{0,20}$/.test(msgId)) return reject(400, 'bad-field', 'MsgId is not a number');
  if (typeof message.Event === 'string' && message.Event.length > 64) return reject(400, 'field-too-long', 'Event longer than 64 characters');
  if (typeof message.EventKey === 'string' && message.EventKey.length > MAX_EVENT_KEY_CHARS) {
    return reject(400, 'field-too-long', `EventKey longer than ${MAX_EVENT_KEY_CHARS} characters`);
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

/** OpenIDs are 28 characters, gh_ ids 15; WeChat documents neither above 64. */
export const MAX_ID_CHARS = 64;
/** EventKey: a menu key (128 bytes) or qrscene_ + a scene string (64): 256 is generous. */
export const MAX_EVENT_KEY_CHARS = 256;

const ENCRYPT_OPEN = '<Encrypt>';
const ENCRYPT_CLOSE = '</Encrypt>';

/**
 * The value of the single `<Encrypt>` element, by a bounded scan: exactly one `<Encrypt>`, its
 * content a CDATA section or plain text without markup (base64 is checked by the decryption).
 * Anything else: undefined. The rest of
 * the outer XML is never parsed (WeChat signs only this value).
 */
export function findEncrypt(xml: string): string | undefined {
  const open = xml.indexOf(ENCRYPT_OPEN);
  if (open < 0 || xml.indexOf(ENCRYPT_OPEN, open + 1) >= 0) return undefined;
  const close = xml.indexOf(ENCRYPT_CLOSE, open);
  if (close < 0) return undefined;
  let value = xml.slice(open + ENCRYPT_OPEN.length, close);
  if (value.startsWith('<![CDATA[') && value.endsWith(']]>')) value = value.slice(9, -3);
  // Strict base64 is checked once, by the decryption (decodeBase64Strict); here only that no markup is inside.
  return value !== '' && !value.includes('<') && !value.includes('&') ? value : undefined;
}

/**
 * Plaintext mode's signature covers only token, timestamp and nonce. Each signature is
 * remembered with a hash of its body for the replay window; the same signature with another
 * body is refused. Bounded: past `maxEntries` the oldest go first (~200 bytes an entry).
 */
export class ReplayGuard {
  private now = 0;
  /** signature → hash of the body it first came with, for the replay window; bounded, oldest first */
  private readonly seen: TtlCache<string>;

  constructor(maxEntries = 100000) {
    this.seen = new TtlCache<string>(maxEntries, () => this.now);
  }

  get size(): number {
    return this.seen.size;
  }

  /** true = first use of `signature`, or the same body again (a retry). */
  check(signature: string, body: string, windowSeconds: number, nowMs: number): boolean {
    this.now = nowMs;
    const key = signature.toLowerCase();
    const hash = digest('sha256', body, 'base64');
    const known = this.seen.get(key);
    if (known !== undefined) return known === hash;
    this.seen.set(key, hash, (windowSeconds > 0 ? windowSeconds : 300) * 1000);
    return true;
  }

  clear(): void {
    this.seen.clear();
  }
}

function checkWindow(timestamp: string, windowSeconds: number, nowMs: number): InboundResult | undefined {
  if (!windowSeconds || windowSeconds <= 0) return undefined;
  const skew = Math.abs(Math.floor(nowMs / 1000) - Number(timestamp));
  if (skew > windowSeconds) return reject(403, 'stale', `timestamp is ${skew}s from the server clock (window ${windowSeconds}s)`);
  return undefined;
}
