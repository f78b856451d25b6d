import { decryptWithKeys } from './crypto';
import { CryptoErrorCode, WeChatCryptoError } from './errors';
import { dedupeKeyOf, parseMessageXml, topicOf, type WeChatMessage } from './message';
import { digest, verifySignature } from './signature';
import { TtlCache } from '../util/ttl-cache';

/**
 * How the account's messages arrive, as set on the 公众平台 (服务器配置 → 消息加解密方式):
 * `plain` 明文模式, `compatible` 兼容模式, `safe` 安全模式. The account decides, never the
 * request: in `safe` and `compatible` mode every POST must carry a valid `msg_signature` over its
 * `<Encrypt>`, whatever `encrypt_type` says. `any` takes the mode from each request's
 * `encrypt_type` (the behaviour of flows saved before the setting existed).
 */
export type MessageMode = 'safe' | 'compatible' | 'plain' | 'any';
const MESSAGE_MODES: readonly MessageMode[] = ['safe', 'compatible', 'plain', 'any'];

/**
 * The configured mode: a node saved without the property (`undefined`) is `any`; an empty value
 * (an unset `${WECHAT_MESSAGE_MODE}`) is `safe`; anything else must be one of MESSAGE_MODES.
 */
export function parseMessageMode(value: unknown): MessageMode | undefined {
  if (value === undefined || value === null) return 'any';
  const text = String(value).trim().toLowerCase();
  if (text === '') return 'safe';
  return (MESSAGE_MODES as readonly string[]).includes(text) ? (text as MessageMode) : undefined;
}

/** The account settings the inbound check needs. */
export interface InboundAccount {
  appId: string;
  token: string;
  /** Decoded AES keys: the current one first, then the previous one (rotation). */
  keys: readonly Buffer[];
  /** Seconds; 0 = no timestamp check. */
  replayWindow: number;
  /** How messages arrive (absent: `any`). */
  messageMode?: MessageMode;
  /** Largest body accepted, in bytes. */
  maxBodyBytes?: number;
  /** Largest `<Encrypt>` value accepted, in bytes (default DEFAULT_MAX_ENCRYPT_BYTES): refused before it is hashed. */
  maxEncryptBytes?: number;
  /** Plaintext mode: refuses a signature reused with another body (absent: not checked). */
  replayGuard?: ReplayGuard;
}

export interface InboundRequest {
  method: string;
  query: Record<string, unknown>;
  /** The POST body: a string, a Buffer ("do not parse body"), or whatever a body parser made. */
  body?: unknown;
}

export interface Rejection { kind: 'reject'; status: number; reason: string; code: string }

export type InboundResult =
  | { kind: 'echo'; echostr: string }
  | Rejection
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

const DEFAULT_MAX_BODY_BYTES = 256 * 1024;
/**
 * WeChat's messages are a few KB (a 2,048-character text is ~9 KB once encrypted); 64 KiB leaves
 * room for the largest events while a flood of 250 KB bodies is refused before any hashing.
 */
export const DEFAULT_MAX_ENCRYPT_BYTES = 64 * 1024;

function reject(status: number, code: string, reason: string): Rejection {
  return { kind: 'reject', status, code, reason };
}

const DIGITS = /^\d{1,12}$/;

/**
 * What a webhook query can be refused for without the account's secrets or the body: a repeated
 * or array parameter (any, in every mode: WeChat never repeats one), no timestamp or nonce, no
 * signature of either kind, a timestamp that is not seconds, and (`windowSeconds` > 0) a
 * timestamp outside the replay window. Used by handleInbound and, before a byte of the body is
 * read, by the body-limit middleware.
 */
export function checkQueryShape(query: Record<string, unknown>, windowSeconds: number, nowMs: number): Rejection | undefined {
  for (const name of Object.keys(query)) {
    const v = query[name];
    if (v !== undefined && typeof v !== 'string') return reject(400, 'repeated-param', `query parameter ${name.slice(0, 40)} is repeated or an array`);
  }
  const missing = ['timestamp', 'nonce'].filter((n) => !query[n]);
  if (!query.signature && !query.msg_signature) missing.push('signature');
  if (missing.length) return reject(400, 'missing-query', `missing query parameter: ${missing.join(', ')}`);
  if (!DIGITS.test(query.timestamp as string)) return reject(400, 'bad-timestamp', 'timestamp is not a number of seconds');
  return checkWindow(query.timestamp as string, windowSeconds, nowMs);
}

/**
 * Check and decode one webhook request: GET URL verification or POST message, plaintext,
 * compatible or safe mode as the account's `messageMode` says. Pure: no I/O, never throws for
 * bad input. The cheap refusals come first: the query's shape and the timestamp window, then the
 * signature; the body only after that, and in safe mode the `<Encrypt>` value's length before it
 * is hashed.
 */
export function handleInbound(req: InboundRequest, account: InboundAccount, nowMs: number = Date.now()): InboundResult {
  const query = req.query && typeof req.query === 'object' ? req.query : {};
  const method = String(req.method || '').toUpperCase();
  if (method !== 'GET' && method !== 'POST') return reject(405, 'method', `method ${method || '?'} not allowed`);
  const shape = checkQueryShape(query, 0, nowMs);
  if (shape) return shape;

  const timestamp = query.timestamp as string;
  const nonce = query.nonce as string;
  const signature = query.signature as string | undefined;
  const encryptType = query.encrypt_type as string | undefined;
  const msgSignature = query.msg_signature as string | undefined;
  if (encryptType !== undefined && encryptType !== 'aes' && encryptType !== 'raw') {
    return reject(400, 'bad-encrypt-type', 'unknown encrypt_type');
  }
  const mode = account.messageMode ?? 'any';

  if (method === 'GET') {
    // The URL check is signed with `signature` in every mode.
    const missing = [...(signature ? [] : ['signature']), ...(query.echostr === undefined ? ['echostr'] : [])];
    if (missing.length) return reject(400, 'missing-query', `missing query parameter: ${missing.join(', ')}`);
    const stale = checkWindow(timestamp, account.replayWindow, nowMs);
    if (stale) return stale;
    if (!verifySignature(signature, account.token, timestamp, nonce)) return reject(403, 'bad-signature', 'signature mismatch');
    return { kind: 'echo', echostr: query.echostr as string };
  }

  // POST. The mode is the account's: a request cannot downgrade safe mode by dropping or changing
  // encrypt_type (the plaintext `signature` beside a safe-mode query is no proof of the body).
  const encrypted = mode === 'safe' || mode === 'compatible' ? true : mode === 'plain' ? false : encryptType === 'aes';
  if (mode === 'plain' && encryptType === 'aes') {
    return reject(400, 'mode-mismatch', 'encrypt_type=aes but the account\'s message mode is plain (set it as on the 公众平台)');
  }
  if (encrypted && !msgSignature) {
    return mode === 'any'
      ? reject(400, 'missing-query', 'missing query parameter: msg_signature')
      : reject(403, 'unsigned', `no msg_signature: the account's message mode is ${mode} (set it as on the 公众平台)`);
  }
  if (!encrypted && !signature) return reject(400, 'missing-query', 'missing query parameter: signature');
  const stale = checkWindow(timestamp, account.replayWindow, nowMs);
  if (stale) return stale;
  // Plaintext: everything the query can prove is checked before the body is looked at, so an
  // unsigned caller costs one SHA-1 and learns nothing about the parser (403 before any parse).
  if (!encrypted && !verifySignature(signature, account.token, timestamp, nonce)) {
    return reject(403, 'bad-signature', 'signature mismatch');
  }

  const max = account.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const body = req.body;
  if (Buffer.isBuffer(body)) {
    if (body.length > max) return reject(413, 'too-large', `body larger than ${max} bytes`);
  } else if (typeof body === 'string') {
    if (body.length > max || Buffer.byteLength(body, 'utf8') > max) return reject(413, 'too-large', `body larger than ${max} bytes`);
  } else if (body === undefined || body === null) {
    return reject(400, 'empty-body', 'empty body');
  } else {
    return reject(415, 'not-xml', 'expected an XML body (text/xml)');
  }
  if (body.length === 0) return reject(400, 'empty-body', 'empty body');

  let message: WeChatMessage;
  let keyIndex = -1;
  if (encrypted) {
    // Safe (and compatible) mode: the one <Encrypt> value by a bounded scan of the body as it came
    // (no copy, no parse), its length, msg_signature over it, and only then decryption and parsing
    // of what WeChat itself encrypted. In compatible mode the plaintext fields beside it are never read.
    const found = findEncryptIn(body, account.maxEncryptBytes ?? DEFAULT_MAX_ENCRYPT_BYTES);
    if (typeof found !== 'string') return found;
    if (!verifySignature(msgSignature, account.token, timestamp, nonce, found)) {
      return reject(403, 'bad-signature', 'msg_signature mismatch');
    }
    if (account.keys.length === 0) return reject(500, 'no-aes-key', 'the account has no EncodingAESKey configured');
    let plain: string;
    try {
      const result = decryptWithKeys(account.keys, found, account.appId);
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
    // The query's timestamp is signed; the message's own CreateTime must lie in the window too.
    if (typeof message.CreateTime === 'string' && DIGITS.test(message.CreateTime)) {
      const old = checkWindow(message.CreateTime, account.replayWindow, nowMs);
      if (old) return reject(403, 'stale-message', `CreateTime ${old.reason.replace(/^timestamp /, '')}`);
    }
  } else {
    const xml = Buffer.isBuffer(body) ? body.toString('utf8') : body;
    if (xml.trim() === '') return reject(400, 'empty-body', 'empty body');
    // Plaintext: the signature does not cover the body. The same signature with another body is a
    // forgery (a captured query replayed with a made-up message); the same body is WeChat's retry.
    if (account.replayGuard && !account.replayGuard.check(signature as string, xml, account.replayWindow, nowMs, timestamp)) {
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
    timestamp,
    nonce,
    openid: message.FromUserName,
  };
}

/** OpenIDs are 28 characters, gh_ ids 15; WeChat documents neither above 64. */
const MAX_ID_CHARS = 64;
/** EventKey: a menu key (128 bytes) or qrscene_ + a scene string (64): 256 is generous. */
const MAX_EVENT_KEY_CHARS = 256;

const ENCRYPT_OPEN = '<Encrypt>';
const ENCRYPT_CLOSE = '</Encrypt>';
const CDATA_OPEN = '<![CDATA[';
const CDATA_CLOSE = ']]>';

/**
 * The value of the single `<Encrypt>` element of a body as it came (a Buffer is scanned in place,
 * never converted whole), by a bounded scan: exactly one `<Encrypt>`, its content a CDATA section
 * or plain text without markup, at most `maxBytes` long (base64 is checked by the decryption).
 * The rest of the outer XML is never parsed (WeChat signs only this value). A refusal otherwise.
 */
function findEncryptIn(body: Buffer | string, maxBytes: number = DEFAULT_MAX_ENCRYPT_BYTES): string | Rejection {
  const none = reject(400, 'no-encrypt', 'the body has no single <Encrypt> (safe mode)');
  const open = body.indexOf(ENCRYPT_OPEN);
  if (open < 0 || body.indexOf(ENCRYPT_OPEN, open + 1) >= 0) return none;
  const start = open + ENCRYPT_OPEN.length;
  const close = body.indexOf(ENCRYPT_CLOSE, start);
  if (close < 0) return none;
  if (close - start > maxBytes + CDATA_OPEN.length + CDATA_CLOSE.length) {
    return reject(413, 'encrypt-too-long', `<Encrypt> longer than ${maxBytes} bytes`);
  }
  let value = typeof body === 'string' ? body.slice(start, close) : body.toString('utf8', start, close);
  if (value.startsWith(CDATA_OPEN) && value.endsWith(CDATA_CLOSE)) value = value.slice(CDATA_OPEN.length, -CDATA_CLOSE.length);
  // Strict base64 is checked once, by the decryption (decodeBase64Strict); here only that no markup is inside.
  if (value === '' || value.includes('<') || value.includes('&')) return none;
  if (value.length > maxBytes) return reject(413, 'encrypt-too-long', `<Encrypt> longer than ${maxBytes} bytes`);
  return value;
}

/** The value of the single `<Encrypt>` element, or undefined (findEncryptIn without the reason). */
export function findEncrypt(xml: string): string | undefined {
  const found = findEncryptIn(xml, Number.MAX_SAFE_INTEGER);
  return typeof found === 'string' ? found : undefined;
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

  /**
   * true = first use of `signature`, or the same body again (a retry). The signature is remembered
   * for as long as its `timestamp` is accepted (acceptedUntilMs), at least `windowSeconds`.
   */
  check(signature: string, body: string, windowSeconds: number, nowMs: number, timestamp?: string): boolean {
    this.now = nowMs;
    const key = signature.toLowerCase();
    const hash = digest('sha256', body, 'base64');
    const known = this.seen.get(key);
    if (known !== undefined) return known === hash;
    const window = windowSeconds > 0 ? windowSeconds : 300;
    const ttl = Math.max(window * 1000, timestamp !== undefined ? acceptedUntilMs(timestamp, window) - nowMs + 1000 : 0);
    this.seen.set(key, hash, ttl);
    return true;
  }

  clear(): void {
    this.seen.clear();
  }
}

/**
 * The first moment (ms) a request with this `timestamp` is refused as stale: checkWindow accepts
 * while floor(now / 1000) - timestamp ≤ window, i.e. until (timestamp + window + 1) s — later than
 * `window` after arrival when WeChat's clock is ahead. What remembers a request for the replay
 * window must remember it until then.
 */
export function acceptedUntilMs(timestamp: string, windowSeconds: number): number {
  return (Number(timestamp) + windowSeconds + 1) * 1000;
}

function checkWindow(timestamp: string, windowSeconds: number, nowMs: number): Rejection | undefined {
  if (!windowSeconds || windowSeconds <= 0) return undefined;
  const skew = Math.abs(Math.floor(nowMs / 1000) - Number(timestamp));
  if (skew > windowSeconds) return reject(403, 'stale', `timestamp is ${skew}s from the server clock (window ${windowSeconds}s)`);
  return undefined;
}
