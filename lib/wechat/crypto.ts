import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { CryptoErrorCode, WeChatCryptoError } from './errors';
import { safeEqual } from './signature';

const BLOCK = 32; // WeChat pads to 32-byte blocks (PKCS#7 with k = 32)
const BASE64_RE = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * Decode an EncodingAESKey (43 characters) into the 32-byte AES key: base64(key + "=").
 * Anything that does not decode to exactly 32 bytes is rejected (-40004).
 */
export function decodeAESKey(encodingAESKey: string): Buffer {
  if (typeof encodingAESKey !== 'string' || encodingAESKey.length !== 43 || !BASE64_RE.test(encodingAESKey)) {
    throw new WeChatCryptoError(CryptoErrorCode.IllegalAesKey, 'EncodingAESKey must be 43 characters of base64 (A-Z, a-z, 0-9, +, /)');
  }
  const key = Buffer.from(encodingAESKey + '=', 'base64');
  if (key.length !== 32) {
    throw new WeChatCryptoError(CryptoErrorCode.IllegalAesKey, 'EncodingAESKey does not decode to 32 bytes');
  }
  return key;
}

/** Strict base64 decode: only the base64 alphabet, length a multiple of 4. */
export function decodeBase64Strict(text: string): Buffer {
  if (typeof text !== 'string' || text.length === 0 || text.length % 4 !== 0 || !BASE64_RE.test(text)) {
    throw new WeChatCryptoError(CryptoErrorCode.DecodeBase64, 'ciphertext is not valid base64');
  }
  return Buffer.from(text, 'base64');
}

export interface DecryptResult {
  /** The message (UTF-8 decoded). */
  message: string;
  /** The appid found after the message. */
  appId: string;
}

/** Encrypt `message` for WeChat: base64(AES-256-CBC(random16 || len || msg || appid, PKCS#7/32)). */
export function encryptMessage(key: Buffer, appId: string, message: string, random16?: Buffer): string {
  const random = random16 ?? randomBytes(16);
  if (random.length !== 16) throw new WeChatCryptoError(CryptoErrorCode.EncryptAES, 'random prefix must be 16 bytes');
  const msg = Buffer.from(message, 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(msg.length, 0);
  const body = Buffer.concat([random, len, msg, Buffer.from(appId, 'utf8')]);
  const pad = BLOCK - (body.length % BLOCK); // 1..32
  const padded = Buffer.concat([body, Buffer.alloc(pad, pad)]);
  const cipher = createCipheriv('aes-256-cbc', key, key.subarray(0, 16));
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(padded), cipher.final()]).toString('base64');
}

/**
 * Decrypt WeChat's `Encrypt` value. Checks base64, block alignment, PKCS#7 padding (1..32, every
 * pad byte equal), the length prefix, and — when `expectedAppId` is given — the trailing appid.
 */
export function decryptMessage(key: Buffer, encrypted: string, expectedAppId?: string): DecryptResult {
  const data = decodeBase64Strict(encrypted);
  if (data.length < BLOCK || data.length % 16 !== 0) {
    throw new WeChatCryptoError(CryptoErrorCode.IllegalBuffer, 'ciphertext length is not a whole number of AES blocks');
  }
  let plain: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-cbc', key, key.subarray(0, 16));
    decipher.setAutoPadding(false);
    plain = Buffer.concat([decipher.update(data), decipher.final()]);
  } catch {
    throw new WeChatCryptoError(CryptoErrorCode.DecryptAES, 'AES decryption failed');
  }
  const pad = plain[plain.length - 1];
  if (pad < 1 || pad > BLOCK || pad > plain.length) {
    throw new WeChatCryptoError(CryptoErrorCode.DecryptAES, 'bad PKCS#7 padding');
  }
  for (let i = plain.length - pad; i < plain.length; i++) {
    if (plain[i] !== pad) throw new WeChatCryptoError(CryptoErrorCode.DecryptAES, 'bad PKCS#7 padding');
  }
  const content = plain.subarray(0, plain.length - pad);
  if (content.length < 20) {
    throw new WeChatCryptoError(CryptoErrorCode.IllegalBuffer, 'decrypted buffer is too short');
  }
  const msgLen = content.readUInt32BE(16);
  if (20 + msgLen > content.length) {
    throw new WeChatCryptoError(CryptoErrorCode.IllegalBuffer, 'message length prefix is larger than the buffer');
  }
  const message = content.subarray(20, 20 + msgLen).toString('utf8');
  const appId = content.subarray(20 + msgLen).toString('utf8');
  if (expectedAppId !== undefined && !safeEqual(appId, expectedAppId)) {
    throw new WeChatCryptoError(CryptoErrorCode.ValidateAppid, 'appid inside the message does not match the configured AppID');
  }
  return { message, appId };
}

/**
 * Try each key in turn (current key first, then the previous one during a key rotation); returns
 * the index of the key that worked. An appid mismatch wins over a decryption failure as the error.
 */
export function decryptWithKeys(keys: readonly Buffer[], encrypted: string, expectedAppId?: string): DecryptResult & { keyIndex: number } {
  let firstError: unknown = new WeChatCryptoError(CryptoErrorCode.IllegalAesKey, 'no EncodingAESKey configured');
  let appIdError: unknown;
  for (let i = 0; i < keys.length; i++) {
    try {
      return { ...decryptMessage(keys[i], encrypted, expectedAppId), keyIndex: i };
    } catch (err) {
      if (i === 0) firstError = err;
      if (err instanceof WeChatCryptoError && err.code === CryptoErrorCode.ValidateAppid) appIdError = err;
      // A malformed ciphertext is malformed for every key.
      if (err instanceof WeChatCryptoError && err.code === CryptoErrorCode.DecodeBase64) throw err;
    }
  }
  throw appIdError ?? firstError;
}
