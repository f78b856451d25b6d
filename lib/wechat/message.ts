import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { CryptoErrorCode, WeChatCryptoError } from './errors';
import { parseFlatXml } from './flat-xml';

/** A WeChat message: WeChat's own field names, every leaf value a string exactly as sent. */
export interface WeChatMessage {
  ToUserName?: string;
  FromUserName?: string;
  CreateTime?: string;
  MsgType?: string;
  Event?: string;
  EventKey?: string;
  MsgId?: string;
  Content?: string;
  Encrypt?: string;
  [field: string]: unknown;
}

const DTD_RE = /<!DOCTYPE|<!ENTITY/i;

const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false, // every value stays a string: MsgId is 64-bit, Content keeps leading zeros
  trimValues: false, // Content keeps its whitespace exactly
  processEntities: true, // the five XML entities and numeric references only; DTDs are refused below
  htmlEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  isArray: (name: string) => name === 'item', // PicList/item, ArticleUrlResult/item, ... always arrays
});

/** Whitespace text between child elements is layout, not data: drop it. */
function clean(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(clean);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (k === '#text') {
        if (typeof v === 'string' && v.trim() === '') continue;
      }
      out[k] = clean(v);
    }
    return out;
  }
  return value === undefined || value === null ? '' : String(value);
}

export class MessageParseError extends WeChatCryptoError {
  constructor(message: string) {
    super(CryptoErrorCode.ParseXml, message);
    this.name = 'MessageParseError';
  }
}

/**
 * Parse a WeChat XML body. Refuses DTDs and entity declarations (never expanded), malformed XML
 * and a root other than <xml>. Returns the fields of <xml> with every value a string.
 */
export function parseMessageXml(xml: string): WeChatMessage {
  refuseUnsafe(xml);
  return (parseFlatXml(xml) as WeChatMessage | undefined) ?? parseValidated(xml);
}

/** The full path alone: fast-xml-parser's validator, then its parser. For the differential test. */
export function parseMessageXmlFull(xml: string): WeChatMessage {
  refuseUnsafe(xml);
  return parseValidated(xml);
}

function refuseUnsafe(xml: string): void {
  if (typeof xml !== 'string' || xml.trim() === '') throw new MessageParseError('empty body');
  if (DTD_RE.test(xml)) throw new MessageParseError('XML with a DOCTYPE or ENTITY declaration is refused');
}

function parseValidated(xml: string): WeChatMessage {
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    throw new MessageParseError(`malformed XML (line ${valid.err.line}, column ${valid.err.col})`);
  }
  const doc = parser.parse(xml) as Record<string, unknown>;
  const keys = Object.keys(doc);
  if (keys.length !== 1 || keys[0] !== 'xml') throw new MessageParseError('the root element must be <xml>');
  const root = doc.xml;
  if (root === null || typeof root !== 'object' || Array.isArray(root)) {
    throw new MessageParseError('<xml> has no fields');
  }
  const message = clean(root) as WeChatMessage;
  if ('#text' in message) throw new MessageParseError('<xml> mixes text with fields');
  return message;
}

/** `msg.topic`: the MsgType, or `event.<Event>` for events. */
export function topicOf(message: WeChatMessage): string {
  const type = typeof message.MsgType === 'string' ? message.MsgType : '';
  if (type === 'event') return `event.${typeof message.Event === 'string' ? message.Event : ''}`;
  return type;
}

/**
 * The key WeChat's retries share: MsgId (scoped by the sender, since MsgId alone has been seen
 * to collide across users), else FromUserName + CreateTime + Event.
 */
export function dedupeKeyOf(message: WeChatMessage): string {
  const from = typeof message.FromUserName === 'string' ? message.FromUserName : '';
  const msgId = typeof message.MsgId === 'string' && message.MsgId !== '' ? message.MsgId
    : typeof message.MsgID === 'string' && message.MsgID !== '' ? message.MsgID : '';
  if (msgId) return `m:${from}:${msgId}`;
  const created = typeof message.CreateTime === 'string' ? message.CreateTime : '';
  const event = typeof message.Event === 'string' ? message.Event : '';
  return `e:${from}:${created}:${event}`;
}
