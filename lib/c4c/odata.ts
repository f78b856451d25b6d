/** What every layer of the C4C client passes down and gets back, and OData's literal and envelope rules. */
import { C4CInputError } from './errors';

/** One OData request as the client's layers see it. */
export interface ODataRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: string;
  query?: [string, string][];
  body?: unknown;
  what: string;
  /** the answer is XML ($metadata), not OData JSON */
  xml?: boolean;
  /** a lookup `property eq value` (first page) that may be combined with others on the same property */
  lookup?: { property: string; value: string };
  /** a create that may go into a `$batch` with others */
  combine?: boolean;
  /** a raw body (the $batch) and its Content-Type; the answer's text is returned as it is */
  raw?: { contentType: string; text: string };
  /** the operations a $batch carries: it gets that many times the request timeout */
  operations?: number;
  /** never combine again (a combined request failed as a whole: retried as its parts) */
  alone?: boolean;
}

export interface ODataResult {
  status: number;
  headers: Record<string, string>;
  /** the parsed JSON body, unwrapped from d / d.results (the text for $metadata) */
  data: unknown;
  /** a collection's next page (`d.__next`: C4C pages at 1,000 rows, at 100 with `$expand`) */
  next?: string;
}

/** Escape a string literal for $filter: a quote is doubled (O'Brien → 'O''Brien'). */
export function odataString(value: string): string {
  return `'${String(value).replace(/'/g, "''")}'`;
}

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const INTEGER = /^[+-]?\d+$/;
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const INTEGER_TYPES = new Set(['Edm.Byte', 'Edm.SByte', 'Edm.Int16', 'Edm.Int32', 'Edm.Int64']);
const NUMBER_TYPES = new Set(['Edm.Decimal', 'Edm.Double', 'Edm.Single']);
/** OData V2's URI literal suffixes (64L, 2.345M, 2.0d, 2.0f); Int32 and the smaller integers are bare. */
const NUMBER_SUFFIX: Record<string, string> = { 'Edm.Int64': 'L', 'Edm.Decimal': 'M', 'Edm.Double': 'd', 'Edm.Single': 'f' };

/** Milliseconds of an OData date: C4C's JSON `/Date(ms)/` (`/Date(ms+0000)/`), or ISO 8601 (no zone = UTC). */
function dateMs(value: unknown): number {
  const s = String(value ?? '').trim();
  const json = /^\/Date\((-?\d+)([+-]\d{4})?\)\/$/.exec(s);
  if (json) return Number(json[1]);
  const iso = /^(\d{4}-\d{2}-\d{2})(?:T(\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?))?(Z|[+-]\d{2}:\d{2})?$/.exec(s);
  if (!iso) return NaN;
  const [, day, time = '00:00:00', zone = 'Z'] = iso;
  // Date.parse turns 2024-02-30 into 1 March: a day or time not in the calendar is no date.
  const [y, mo, d] = day.split('-').map(Number);
  const [h, mi, sec = 0] = time.split(':').map(Number);
  const check = new Date(Date.UTC(2000, mo - 1, d));
  if (check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d || (mo === 2 && d === 29 && !(y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0))) || h > 23 || mi > 59 || sec >= 60) return NaN;
  return Date.parse(`${day}T${time.length === 5 ? `${time}:00` : time.replace(/(\.\d{3})\d+$/, '$1')}${zone}`);
}

/** A lookup value as the literal of its property's Edm type, and the re-check of a row's value against it. */
export interface TypedValue {
  /** the `$filter` literal: 'text', guid'…', true, datetime'…', 42 */
  literal: string;
  /** a row's value is this value: GUIDs without regard to case (C4C answers upper case), dates and numbers by value */
  same(rowValue: unknown): boolean;
}

/**
 * The one literal function for lookups: `value` as a literal of the Edm `type` from the tenant's
 * $metadata (Edm.String → odataString, Edm.Guid → guid'…', Edm.Boolean → true/false,
 * Edm.DateTime → datetime'yyyy-mm-ddThh:mm:ss' (UTC), Edm.DateTimeOffset → datetimeoffset'…Z',
 * numbers with OData V2's suffix: 64L, 2.345M, 2.0d, 2.0f, Int32 and smaller bare). A value that cannot be of the type is C4C_INPUT, before anything is sent.
 */
export function odataValue(type: string | undefined, value: string, name = 'the lookup value'): TypedValue {
  const t = type || 'Edm.String';
  const refuse = (what: string): never => {
    throw new C4CInputError(`${name} "${value}" is not ${what} (the property is ${t} in the tenant's $metadata)`);
  };
  const v = String(value).trim();
  if (t === 'Edm.String') return { literal: odataString(value), same: (r) => r !== undefined && r !== null && String(r) === value };
  if (t === 'Edm.Guid') {
    if (!GUID.test(v)) refuse('a GUID (8-4-4-4-12 hex digits)');
    return { literal: `guid'${v}'`, same: (r) => typeof r === 'string' && r.toLowerCase() === v.toLowerCase() };
  }
  if (t === 'Edm.Boolean') {
    const b = v.toLowerCase();
    if (b !== 'true' && b !== 'false') refuse('true or false');
    return { literal: b, same: (r) => String(r).toLowerCase() === b };
  }
  if (t === 'Edm.DateTime' || t === 'Edm.DateTimeOffset') {
    const ms = dateMs(v);
    if (!Number.isFinite(ms)) refuse('a date (yyyy-mm-dd, yyyy-mm-ddThh:mm:ss[Z|±hh:mm] or /Date(ms)/)');
    const iso = new Date(ms).toISOString().replace(/\.000Z$/, 'Z');
    return { literal: t === 'Edm.DateTime' ? `datetime'${iso.replace(/Z$/, '')}'` : `datetimeoffset'${iso}'`, same: (r) => dateMs(r) === ms };
  }
  if (INTEGER_TYPES.has(t) || NUMBER_TYPES.has(t)) {
    if (!(INTEGER_TYPES.has(t) ? INTEGER : NUMBER).test(v)) refuse(INTEGER_TYPES.has(t) ? 'an integer' : 'a number');
    const n = Number(v);
    // Integers digit for digit (an Edm.Int64 beyond 2^53 is a string in C4C's JSON; as floats two keys would be one).
    const whole = INTEGER_TYPES.has(t) ? BigInt(v) : undefined;
    const same = (r: unknown): boolean => {
      if (r === null || r === undefined || r === '') return false;
      if (whole !== undefined && INTEGER.test(String(r).trim())) return BigInt(String(r).trim()) === whole;
      return Number(r) === n;
    };
    return { literal: v.replace(/^\+/, '') + (NUMBER_SUFFIX[t] ?? ''), same };
  }
  return refuse('a value a lookup can compare');
}

/** C4C wraps a single entity as {"d":{"results":{...}}} and a collection as {"d":{"results":[...]}} (a next page: {"d":{"results":[...],"__next":"…"}}, see nextLink). */
export function unwrapOData(body: unknown): unknown {
  if (!body || typeof body !== 'object') return body;
  const d = (body as { d?: unknown }).d;
  if (d === undefined) return body;
  if (d && typeof d === 'object' && 'results' in (d as object)) return (d as { results: unknown }).results;
  return d;
}

/** The next page's link of a collection answer (`d.__next`), if any. */
export function nextLink(body: unknown): string | undefined {
  const d = body && typeof body === 'object' ? (body as { d?: unknown }).d : undefined;
  const next = d && typeof d === 'object' ? (d as { __next?: unknown }).__next : undefined;
  return typeof next === 'string' && next ? next : undefined;
}
