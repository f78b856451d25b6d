/**
 * A compact, exact encoding of WeChat's safe-mode reply envelope for the in-process delivery
 * store. A sealed safe-mode reply is ~580 bytes of XML, two thirds of it the base64 of the
 * ciphertext; kept as the ciphertext's bytes, the signature's 20 bytes, the timestamp and the
 * nonce it is ~330 bytes, and it turns back into the very same string (a retry gets identical
 * bytes). Only a body in exactly the shape `encryptReply` writes (lowercase hex signature,
 * canonical base64, a timestamp without leading zeros, an alphanumeric nonce) is packed; anything
 * else is kept as it is.
 */

const P_ENCRYPT = '<xml><Encrypt><![CDATA[';
const P_SIGNATURE = ']]></Encrypt><MsgSignature><![CDATA[';
const P_TIMESTAMP = ']]></MsgSignature><TimeStamp>';
const P_NONCE = '</TimeStamp><Nonce><![CDATA[';
const P_END = ']]></Nonce></xml>';

/**
 * The parts of a packed envelope: timestamp, nonce, signature (hex) and the ciphertext's bytes.
 * `cipher` is a view of a scratch buffer: valid until the next `parseEnvelope` call (the store
 * writes it at once).
 */
export interface EnvelopeParts {
  timestamp: number;
  nonce: string;
  signature: string;
  cipher: Buffer;
}

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isAlnum = (c: number): boolean => isDigit(c) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
const isHexLower = (c: number): boolean => isDigit(c) || (c >= 0x61 && c <= 0x66);
/** Where the ciphertext is decoded to (a safe-mode reply is far below this; larger ones stay as text). */
const scratch = Buffer.alloc(64 * 1024);

/**
 * The envelope's parts when `body` is in exactly the shape that packs back to itself, else
 * undefined. Fixed markers and short character loops, no regular expression (one over the ~580
 * characters cost ~7 µs a reply); the base64 is decoded natively and must encode back to exactly
 * itself (canonical: no foreign characters, no stray padding bits).
 */
export function parseEnvelope(body: string): EnvelopeParts | undefined {
  if (body.length < 200 || !body.startsWith(P_ENCRYPT)) return undefined;
  const encEnd = body.indexOf(P_SIGNATURE, P_ENCRYPT.length);
  if (encEnd < 0 || ((encEnd - P_ENCRYPT.length) / 4) * 3 > scratch.length) return undefined;
  const sigAt = encEnd + P_SIGNATURE.length;
  if (!body.startsWith(P_TIMESTAMP, sigAt + 40)) return undefined;
  for (let i = sigAt; i < sigAt + 40; i++) if (!isHexLower(body.charCodeAt(i))) return undefined;
  const tsAt = sigAt + 40 + P_TIMESTAMP.length;
  let tsEnd = tsAt;
  while (tsEnd < body.length && tsEnd - tsAt <= 10 && isDigit(body.charCodeAt(tsEnd))) tsEnd++;
  if (tsEnd === tsAt || tsEnd - tsAt > 10 || body.charCodeAt(tsAt) === 0x30 || !body.startsWith(P_NONCE, tsEnd)) return undefined;
  const nonceAt = tsEnd + P_NONCE.length;
  const nonceEnd = body.length - P_END.length;
  if (nonceEnd - nonceAt < 1 || nonceEnd - nonceAt > 64 || !body.endsWith(P_END)) return undefined;
  for (let i = nonceAt; i < nonceEnd; i++) if (!isAlnum(body.charCodeAt(i))) return undefined;
  const timestamp = Number(body.slice(tsAt, tsEnd));
  if (timestamp > 0xffffffff) return undefined;
  const encrypt = body.slice(P_ENCRYPT.length, encEnd);
  const n = scratch.write(encrypt, 0, 'base64');
  if (n === 0 || n % 16 !== 0 || scratch.toString('base64', 0, n) !== encrypt) return undefined;
  return { timestamp, nonce: body.slice(nonceAt, nonceEnd), signature: body.slice(sigAt, sigAt + 40), cipher: scratch.subarray(0, n) };
}

/** Bytes `writeEnvelope` takes for these parts. */
export function envelopeSize(p: EnvelopeParts): number {
  return 4 + 1 + p.nonce.length + 20 + p.cipher.length;
}

/** Packed layout: timestamp (u32 LE), nonce length (u8), nonce (ASCII), signature (20), ciphertext. */
export function writeEnvelope(buf: Buffer, at: number, p: EnvelopeParts): void {
  buf.writeUInt32LE(p.timestamp, at);
  buf.writeUInt8(p.nonce.length, at + 4);
  buf.write(p.nonce, at + 5, p.nonce.length, 'latin1');
  const sigAt = at + 5 + p.nonce.length;
  buf.write(p.signature, sigAt, 20, 'hex');
  p.cipher.copy(buf, sigAt + 20);
}

/** The envelope string back from its packed bytes `buf[at, at + len)`. */
export function readEnvelope(buf: Buffer, at: number, len: number): string {
  const timestamp = buf.readUInt32LE(at);
  const nonceLen = buf.readUInt8(at + 4);
  const nonce = buf.toString('latin1', at + 5, at + 5 + nonceLen);
  const sigAt = at + 5 + nonceLen;
  const signature = buf.toString('hex', sigAt, sigAt + 20);
  const encrypt = buf.toString('base64', sigAt + 20, at + len);
  return `${P_ENCRYPT}${encrypt}${P_SIGNATURE}${signature}${P_TIMESTAMP}${timestamp}${P_NONCE}${nonce}${P_END}`;
}
