import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { CryptoErrorCode, WeChatCryptoError } from './errors';
import { parseFlatXmlChecked } from './flat-xml';
import { hasForbiddenXmlChar } from './xml-chars';

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

/** Elements WeChat repeats (PicList/item, ArticleUrlResult/item, SubscribeMsgPopupEvent/List): always arrays. */
const LIST_FIELDS: ReadonlySet<string> = new Set(['item', 'List']);

/** Fields WeChat always sends as text: an element inside one of them is refused. */
const TEXT_FIELDS: ReadonlySet<string> = new Set([
  'ToUserName', 'FromUserName', 'CreateTime', 'MsgType', 'Event', 'EventKey', 'MsgId', 'MsgID', 'Content',
  'Encrypt', 'PicUrl', 'MediaId', 'Format', 'Recognition', 'ThumbMediaId', 'Title', 'Description', 'Url',
  'Ticket', 'Latitude', 'Longitude', 'Precision', 'Label', 'Status',
]);

const REFERENCE = /^&(?:(lt|gt|amp|apos|quot)|#([0-9]{1,7})|#x([0-9a-fA-F]{1,6}));/;

/** XML 1.0 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]. */
function isXmlChar(cp: number): boolean {
  return cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

/**
 * One rule for both parser paths: every `&` outside CDATA must be one of the five predefined
 * entities or a character reference to a character XML allows (XML 1.0 §4.1, §2.2). Undefined
 * entities (`&foo;`), `&#1;`, `&#xD800;` and a bare `&` are refused.
 */
function checkReferences(xml: string): void {
  let i = xml.indexOf('&');
  while (i >= 0) {
    const cdataStart = xml.lastIndexOf('<![CDATA[', i);
    if (cdataStart >= 0) {
      const cdataEnd = xml.indexOf(']]>', cdataStart + 9);
      if (cdataEnd < 0 || cdataEnd > i) { // inside a CDATA section: characters, not a reference
        i = cdataEnd < 0 ? -1 : xml.indexOf('&', cdataEnd + 3);
        continue;
      }
    }
    const m = REFERENCE.exec(xml.slice(i, i + 12));
    if (!m) throw new MessageParseError('undefined entity or bare & (only &lt; &gt; &amp; &apos; &quot; and character references)');
    if (!m[1]) {
      const cp = m[2] !== undefined ? Number(m[2]) : parseInt(m[3], 16);
      if (!isXmlChar(cp)) throw new MessageParseError(`character reference to a character XML forbids (${m[0]})`);
    }
    i = xml.indexOf('&', i + m[0].length);
  }
}

const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false, // every value stays a string: MsgId is 64-bit, Content keeps leading zeros
  trimValues: false, // Content keeps its whitespace exactly
  // The five XML entities and numeric character references: `checkReferences` has already refused
  // every other `&` (undefined entities, references to characters XML forbids), so the HTML
  // entity table only ever sees numeric references here.
  processEntities: true,
  htmlEntities: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  isArray: (name: string) => LIST_FIELDS.has(name), // always arrays, whatever the count
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
  refuseUnsafe(xml); // refuses characters XML forbids: the flat path need not look again
  return (parseFlatXmlChecked(xml) as WeChatMessage | undefined) ?? parseValidated(xml);
}

/** The full path alone: fast-xml-parser's validator, then its parser. For the differential test. */
export function parseMessageXmlFull(xml: string): WeChatMessage {
  refuseUnsafe(xml);
  return parseValidated(xml);
}

function refuseUnsafe(xml: string): void {
  if (typeof xml !== 'string' || xml.trim() === '') throw new MessageParseError('empty body');
  if (DTD_RE.test(xml)) throw new MessageParseError('XML with a DOCTYPE or ENTITY declaration is refused');
  if (hasForbiddenXmlChar(xml)) throw new MessageParseError('a character XML forbids');
  if (xml.includes('&')) checkReferences(xml);
}

/** Field rules both paths share: no repeated field, text where WeChat sends text. */
function checkFields(message: WeChatMessage): WeChatMessage {
  for (const [name, value] of Object.entries(message)) {
    if (Array.isArray(value) && !LIST_FIELDS.has(name)) throw new MessageParseError(`duplicate <${name}>`);
    if (TEXT_FIELDS.has(name) && typeof value !== 'string') throw new MessageParseError(`<${name}> must be text, not elements`);
  }
  return message;
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
  return checkFields(message);
}

/** `msg.topic`: the MsgType, or `event.<Event>` for events. */
export function topicOf(message: WeChatMessage): string {
  const type = typeof message.MsgType === 'string' ? message.MsgType : '';
  if (type === 'event') return `event.${typeof message.Event === 'string' ? message.Event : ''}`;
  return type;
}

/**
 * The key WeChat's retries share: MsgId (scoped by the sender, since MsgId alone has been seen
 * to collide across users), else FromUserName + CreateTime + Event + EventKey (two menu clicks in
 * one second are two events).
 */
export function dedupeKeyOf(message: WeChatMessage): string {
  const from = typeof message.FromUserName === 'string' ? message.FromUserName : '';
  const msgId = typeof message.MsgId === 'string' && message.MsgId !== '' ? message.MsgId
    : typeof message.MsgID === 'string' && message.MsgID !== '' ? message.MsgID : '';
  if (msgId) return `m:${from}:${msgId}`;
  const created = typeof message.CreateTime === 'string' ? message.CreateTime : '';
  const event = typeof message.Event === 'string' ? message.Event : '';
  const eventKey = typeof message.EventKey === 'string' ? message.EventKey : '';
  return `e:${from}:${created}:${event}:${eventKey}`;
}
