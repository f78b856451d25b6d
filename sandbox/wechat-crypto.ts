/**
 * The simulated WeChat server's own message crypto, written from WeChat's documentation and
 * independent of lib/ (a simulator that shared the client's code would agree with its bugs):
 * SHA-1 signatures over the sorted strings, AES-256-CBC with the EncodingAESKey (IV = the key's
 * first 16 bytes), PKCS#7 padding to 32-byte blocks, and the plaintext layout
 * random(16) | length(4, big-endian) | message | AppID.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { XMLParser, XMLValidator } from 'fast-xml-parser';

export function simSignature(...parts: string[]): string {
  return createHash('sha1').update([...parts].sort().join('')).digest('hex');
}

export function simEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function keyOf(encodingAESKey: string): Buffer {
  const key = Buffer.from(`${encodingAESKey}=`, 'base64');
  if (encodingAESKey.length !== 43 || key.length !== 32) throw new Error('EncodingAESKey must be 43 characters');
  return key;
}

export function simEncrypt(encodingAESKey: string, appId: string, message: string): string {
  const key = keyOf(encodingAESKey);
  const body = Buffer.from(message, 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length, 0);
  const plain = Buffer.concat([randomBytes(16), len, body, Buffer.from(appId, 'utf8')]);
  const pad = 32 - (plain.length % 32);
  const cipher = createCipheriv('aes-256-cbc', key, key.subarray(0, 16));
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(Buffer.concat([plain, Buffer.alloc(pad, pad)])), cipher.final()]).toString('base64');
}

export function simDecrypt(encodingAESKey: string, appId: string, encrypted: string): string {
  const key = keyOf(encodingAESKey);
  const data = Buffer.from(encrypted, 'base64');
  if (data.length === 0 || data.length % 16 !== 0) throw new Error('the ciphertext is not whole AES blocks');
  const decipher = createDecipheriv('aes-256-cbc', key, key.subarray(0, 16));
  decipher.setAutoPadding(false);
  const plain = Buffer.concat([decipher.update(data), decipher.final()]);
  const pad = plain[plain.length - 1];
  if (pad < 1 || pad > 32 || plain.subarray(plain.length - pad).some((b) => b !== pad)) throw new Error('bad PKCS#7 padding');
  const content = plain.subarray(16, plain.length - pad);
  const len = content.readUInt32BE(0);
  if (4 + len > content.length) throw new Error('the length prefix runs past the data');
  const from = content.subarray(4 + len).toString('utf8');
  if (from !== appId) throw new Error(`the AppID inside the ciphertext is ${from}, not ${appId}`);
  return content.subarray(4, 4 + len).toString('utf8');
}

const parser = new XMLParser({ ignoreAttributes: true, parseTagValue: false, trimValues: false, processEntities: true, htmlEntities: false, isArray: (n) => n === 'item' });

/** A reply as WeChat reads it: well-formed, no DTD, root <xml>, every value a string. */
export function simParseXml(xml: string): Record<string, unknown> {
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw new Error('DTD in a reply');
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw new Error(`malformed XML (line ${valid.err.line})`);
  const doc = parser.parse(xml) as Record<string, unknown>;
  const root = doc.xml;
  if (!root || typeof root !== 'object') throw new Error('the root element must be <xml>');
  return root as Record<string, unknown>;
}

/** A CDATA section; `]]>` inside is split across two sections. */
export function simCdata(text: string): string {
  return `<![CDATA[${String(text).split(']]>').join(']]]]><![CDATA[>')}]]>`;
}
