import { WeChatC4CError } from '../errors';
/**
 * Batching towards C4C, as standalone building blocks the client's combining layer
 * (lib/c4c/combine.ts) wires in:
 * - the OData V2 `$batch` wire format: a multipart/mixed request with GETs as plain parts and
 *   every write in its own changeset (so one refused customer fails alone), and a parser for the
 *   multipart/mixed answer giving each operation its status, headers and body;
 * - a `$filter` builder `P eq 'a' or P eq 'b' …` split under a URL length, with exact
 *   (case-sensitive) matching of the results back to each value.
 * Wire format: SAP's C4C OData API developer guide ($batch section) and OData V2 "Batch
 * Processing"; sample in test/fixtures/c4c/batch.sample.txt. No Node-RED import.
 */
import { randomBytes } from 'node:crypto';
import { odataString } from './odata';

const CRLF = '\r\n';

// ---- request --------------------------------------------------------------------------------

export interface BatchOperation {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'MERGE' | 'DELETE';
  /** relative to the service root, e.g. `IndividualCustomerCollection` or `…?$filter=…` (query URL-encoded) */
  url: string;
  /** JSON body of a write */
  body?: unknown;
  headers?: Record<string, string>;
}

export interface BatchRequest {
  /** headers for POST <service>/$batch (add x-csrf-token and the session cookies) */
  headers: Record<string, string>;
  body: string;
  boundary: string;
}

function boundary(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString('hex')}`;
}

function httpPart(op: BatchOperation, contentId?: number): string {
  const lines = [`${op.method} ${op.url} HTTP/1.1`, 'Accept: application/json'];
  let payload = '';
  if (op.method !== 'GET' && op.method !== 'DELETE') {
    payload = op.body === undefined ? '' : JSON.stringify(op.body);
    lines.push('Content-Type: application/json');
    if (contentId !== undefined) lines.push(`Content-ID: ${contentId}`);
    lines.push(`Content-Length: ${Buffer.byteLength(payload, 'utf8')}`);
  }
  for (const [k, v] of Object.entries(op.headers ?? {})) lines.push(`${k}: ${v}`);
  // A GET part ends with an empty line after its headers (the guide: two blank lines after a GET).
  return ['Content-Type: application/http', 'Content-Transfer-Encoding: binary', '', ...lines, '', payload].join(CRLF);
}

/**
 * The `$batch` request for `ops`: reads as plain parts, every write in a changeset of its own.
 * Answers come back in the same order (see parseBatchResponse / batchResults).
 */
export function buildBatchRequest(ops: BatchOperation[], opts: { boundary?: string } = {}): BatchRequest {
  if (ops.length === 0) throw new Error('$batch: no operations');
  const b = opts.boundary ?? boundary('batch');
  const parts: string[] = [];
  let contentId = 0;
  for (const op of ops) {
    if (op.method === 'GET') {
      parts.push(`--${b}${CRLF}${httpPart(op)}${CRLF}`);
    } else {
      const cs = boundary('changeset');
      parts.push(`--${b}${CRLF}Content-Type: multipart/mixed; boundary=${cs}${CRLF}${CRLF}--${cs}${CRLF}${httpPart(op, ++contentId)}${CRLF}--${cs}--${CRLF}`);
    }
  }
  const body = `${parts.join('')}--${b}--${CRLF}`;
  return {
    boundary: b,
    body,
    headers: {
      'Content-Type': `multipart/mixed; boundary=${b}`,
      Accept: 'multipart/mixed',
      DataServiceVersion: '2.0',
      MaxDataServiceVersion: '2.0',
    },
  };
}

// ---- response -------------------------------------------------------------------------------

export interface BatchPartResponse {
  status: number;
  statusText: string;
  /** lower-case names */
  headers: Record<string, string>;
  body: string;
}

/** A top-level item of the answer: a read's response, or a changeset (its responses, or one error for all). */
export type BatchItem = { kind: 'response'; response: BatchPartResponse } | { kind: 'changeset'; responses: BatchPartResponse[] };

export class BatchFormatError extends WeChatC4CError {
  constructor(message: string) {
    super('C4C_BATCH_FORMAT', `$batch answer: ${message}`);
    this.name = 'BatchFormatError';
  }
}

/** The boundary parameter of a multipart Content-Type (quoted or not). */
export function boundaryOf(contentType: string | undefined): string | undefined {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
  return m ? m[1] ?? m[2] : undefined;
}

/** Split a multipart body into its parts (text between delimiter lines), tolerant of LF and trailing blanks. */
export function splitMultipart(body: string, b: string): string[] {
  const lines = body.split(/\r?\n/);
  const parts: string[] = [];
  let current: string[] | undefined;
  for (const line of lines) {
    const t = line.trimEnd();
    if (t === `--${b}` || t === `--${b}--`) {
      if (current) parts.push(current.join(CRLF));
      current = t === `--${b}` ? [] : undefined;
      if (t === `--${b}--`) break;
      continue;
    }
    if (current) current.push(line);
  }
  if (current) parts.push(current.join(CRLF));
  return parts;
}

function splitHead(text: string): { head: Record<string, string>; rest: string } {
  const lines = text.split(/\r?\n/);
  const head: Record<string, string> = {};
  let i = 0;
  for (; i < lines.length; i++) {
    const line = lines[i];
    if (line.trim() === '') break;
    const c = line.indexOf(':');
    if (c > 0) head[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim();
  }
  return { head, rest: lines.slice(i + 1).join(CRLF) };
}

function parseHttp(text: string): BatchPartResponse {
  // MIME headers of the part, then the HTTP response: status line, headers, blank line, body.
  const lines = splitHead(text).rest.split(/\r?\n/);
  let i = 0;
  while (i < lines.length && lines[i].trim() === '') i++;
  const statusLine = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec((lines[i] ?? '').trimEnd());
  if (!statusLine) throw new BatchFormatError('a part has no HTTP status line');
  const { head, rest: body } = splitHead(lines.slice(i + 1).join(CRLF));
  return { status: Number(statusLine[1]), statusText: (statusLine[2] ?? '').trim(), headers: head, body: body.replace(/(\r?\n)+$/, '') };
}

/** Parse a `$batch` answer (Content-Type + body) into its top-level items, in request order. */
export function parseBatchResponse(contentType: string | undefined, body: string): BatchItem[] {
  const b = boundaryOf(contentType);
  if (!b) throw new BatchFormatError(`not multipart/mixed (${String(contentType)})`);
  return splitMultipart(body, b).map((part): BatchItem => {
    const { head } = splitHead(part);
    const type = head['content-type'] ?? '';
    if (/^multipart\/mixed/i.test(type)) {
      const cs = boundaryOf(type);
      if (!cs) throw new BatchFormatError('a changeset without a boundary');
      const inner = splitHead(part).rest;
      return { kind: 'changeset', responses: splitMultipart(inner, cs).map(parseHttp) };
    }
    return { kind: 'response', response: parseHttp(part) };
  });
}

/**
 * One response per operation of `ops`, from the parsed answer. A changeset that failed as a whole
 * comes back as one response: it stands for every operation of the changeset (here: one).
 * OData stops processing a `$batch` at the first failed changeset: the answer then ends with that
 * changeset's error, and the operations after it have no answer (`undefined` here).
 */
export function batchResults(ops: BatchOperation[], items: BatchItem[]): (BatchPartResponse | undefined)[] {
  if (items.length > ops.length) throw new BatchFormatError(`${items.length} answers for ${ops.length} operations`);
  return ops.map((op, i) => {
    const item = items[i];
    if (!item) return undefined;
    const isWrite = op.method !== 'GET';
    if (item.kind === 'response') return item.response; // a read, or a changeset that failed as a whole
    if (!isWrite) throw new BatchFormatError(`answer ${i + 1} is a changeset for a read`);
    if (item.responses.length !== 1) throw new BatchFormatError(`changeset ${i + 1} has ${item.responses.length} answers`);
    return item.responses[0];
  });
}

// ---- $filter with or ------------------------------------------------------------------------

export interface OrFilterOptions {
  /** the longest encoded `$filter` value allowed per request (default 2000; C4C's front end accepts about 8 KB of URL) */
  maxLength?: number;
  /** at most this many values per request (default: no limit besides maxLength) */
  maxValues?: number;
}

/**
 * `P eq 'a' or P eq 'b' …` for the distinct `values`, split into several filters so that each
 * one's URL-encoded form stays within `maxLength`. Each chunk lists the values it covers.
 */
export function buildOrFilters(property: string, values: string[], opts: OrFilterOptions = {}): { filter: string; values: string[] }[] {
  if (!/^[A-Za-z_][A-Za-z0-9_/]*$/.test(property)) throw new Error(`not a property name: ${property}`);
  const maxLength = opts.maxLength ?? 2000;
  const maxValues = opts.maxValues ?? Infinity;
  const distinct = [...new Set(values)];
  const out: { filter: string; values: string[] }[] = [];
  let terms: string[] = [];
  let covered: string[] = [];
  let length = 0;
  const sep = encodeURIComponent(' or ').length;
  for (const v of distinct) {
    const term = `${property} eq ${odataString(v)}`;
    const len = encodeURIComponent(term).length;
    if (len > maxLength) throw new Error(`one value alone is longer than the URL limit (${len} > ${maxLength})`);
    if (terms.length && (length + sep + len > maxLength || terms.length >= maxValues)) {
      out.push({ filter: terms.join(' or '), values: covered });
      terms = [];
      covered = [];
      length = 0;
    }
    length += (terms.length ? sep : 0) + len;
    terms.push(term);
    covered.push(v);
  }
  if (terms.length) out.push({ filter: terms.join(' or '), values: covered });
  return out;
}

/**
 * The results of an or-filter matched back to each value exactly (case-sensitive, as given: C4C
 * may compare some fields without case, so `ABC` must not take `abc`'s customer).
 */
export function matchByValue<T extends Record<string, unknown>>(property: string, values: string[], results: T[]): Map<string, T[]> {
  const map = new Map<string, T[]>(values.map((v) => [v, []]));
  for (const r of results) {
    const v = r[property];
    const list = typeof v === 'string' ? map.get(v) : undefined;
    if (list) list.push(r);
  }
  return map;
}
