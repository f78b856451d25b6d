import { hasForbiddenXmlChar } from './xml-chars';

/**
 * A fast path for the shape nearly every WeChat message has: `<xml>` holding flat fields, each a
 * CDATA section or plain text with no entity. It returns `undefined` for ANYTHING else (nested
 * elements, attributes, entities, comments, processing instructions, duplicates, stray text,
 * malformed input), and the caller then uses fast-xml-parser with full validation, so the fast
 * path never decides that an input is valid when the full parser would not: it only skips work
 * for the common case. A differential test keeps the two in agreement.
 */
function isNameStart(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f; // A-Z a-z _
}

function isNameChar(c: number): boolean {
  return isNameStart(c) || (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x2d; // 0-9 . -
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

export function parseFlatXml(xml: string): Record<string, string> | undefined {
  // Characters XML 1.0 forbids (a full parser refuses them; we hand them over): one pass over
  // the whole document rather than one per value.
  return hasForbiddenXmlChar(xml) ? undefined : parseFlatXmlChecked(xml);
}

/** parseFlatXml for a document already checked for characters XML forbids (parseMessageXml does). */
export function parseFlatXmlChecked(xml: string): Record<string, string> | undefined {
  const n = xml.length;
  let i = 0;
  while (i < n && isSpace(xml.charCodeAt(i))) i++;
  if (xml.startsWith('<?xml', i)) {
    const end = xml.indexOf('?>', i);
    if (end < 0) return undefined;
    i = end + 2;
    while (i < n && isSpace(xml.charCodeAt(i))) i++;
  }
  if (!xml.startsWith('<xml>', i)) return undefined;
  i += 5;
  const out: Record<string, string> = {};
  let fields = 0;
  for (;;) {
    while (i < n && isSpace(xml.charCodeAt(i))) i++;
    if (i >= n || xml.charCodeAt(i) !== 0x3c /* < */) return undefined;
    if (xml.startsWith('</xml>', i)) {
      i += 6;
      break;
    }
    // <Name> or <Name/>
    let j = i + 1;
    if (j >= n || !isNameStart(xml.charCodeAt(j))) return undefined;
    j++;
    while (j < n && isNameChar(xml.charCodeAt(j))) j++;
    const name = xml.slice(i + 1, j);
    if (name === '__proto__' || name === 'List' || name === 'item' || Object.prototype.hasOwnProperty.call(out, name)) return undefined;
    if (xml.startsWith('/>', j)) {
      out[name] = '';
      fields++;
      i = j + 2;
      continue;
    }
    if (xml.charCodeAt(j) !== 0x3e /* > */) return undefined;
    i = j + 1;
    let value: string;
    if (xml.startsWith('<![CDATA[', i)) {
      const end = xml.indexOf(']]>', i + 9);
      if (end < 0) return undefined;
      value = xml.slice(i + 9, end);
      i = end + 3;
      // Further adjacent CDATA sections (how a `]]>` inside content is carried).
      while (xml.startsWith('<![CDATA[', i)) {
        const next = xml.indexOf(']]>', i + 9);
        if (next < 0) return undefined;
        value += xml.slice(i + 9, next);
        i = next + 3;
      }
    } else {
      const lt = xml.indexOf('<', i);
      if (lt < 0) return undefined;
      value = xml.slice(i, lt);
      if (value.includes('&') || value.includes(']]>')) return undefined;
      i = lt;
    }
    // </Name>
    if (xml.charCodeAt(i) !== 0x3c || xml.charCodeAt(i + 1) !== 0x2f || !xml.startsWith(name, i + 2) || xml.charCodeAt(i + 2 + name.length) !== 0x3e) return undefined;
    i += name.length + 3;
    // XML end-of-line handling, as a conforming parser does: CRLF and lone CR become LF.
    out[name] = value.includes('\r') ? value.replace(/\r\n?/g, '\n') : value;
    fields++;
  }
  while (i < n && isSpace(xml.charCodeAt(i))) i++;
  if (i !== n || fields === 0) return undefined;
  return out;
}
