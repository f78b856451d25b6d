/** What every layer of the C4C client passes down and gets back, and OData's literal and envelope rules. */

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
}

/** Escape a string literal for $filter: a quote is doubled (O'Brien → 'O''Brien'). */
export function odataString(value: string): string {
  return `'${String(value).replace(/'/g, "''")}'`;
}

/** C4C wraps a single entity as {"d":{"results":{...}}} and a collection as {"d":{"results":[...]}}. */
export function unwrapOData(body: unknown): unknown {
  if (!body || typeof body !== 'object') return body;
  const d = (body as { d?: unknown }).d;
  if (d === undefined) return body;
  if (d && typeof d === 'object' && 'results' in (d as object)) return (d as { results: unknown }).results;
  return d;
}
