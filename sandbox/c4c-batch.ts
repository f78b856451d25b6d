/**
 * OData V2 `$batch` for the C4C simulator: its own multipart/mixed parser (no lib/ import: the
 * simulator must not share the client's bugs), changesets, one HTTP answer per operation, and a
 * cost model — `perOperationMs` for every operation inside a batch, on top of the latency the
 * simulator charges per HTTP request (sandbox/c4c.ts: by default an operation costs inside a batch
 * what it costs alone). The wire format is C4C's (see test/fixtures/c4c/batch.sample.txt): CRLF or
 * LF lines, `Content-Type: application/http` parts, changesets as nested multipart/mixed, the
 * answer in request order; a changeset whose operation fails is answered by that one error
 * response (the changeset is all or nothing), and processing STOPS there: the answer holds the
 * parts up to and including the failed changeset, nothing after it is run (OData's default
 * without the `odata.continue-on-error` preference, OData 4.0 Part 1 "Batch Requests"; SAP does
 * not publish what C4C does).
 *
 * Wiring: sandbox/c4c.ts's serve() calls answerBatch after auth + CSRF for POST `<service>/$batch`,
 * with its operation() (the GET query / POST create logic for a relative URL) as the handler.
 */
import { randomBytes } from 'node:crypto';
import { delay } from './http-util';

export interface SimOperation {
  method: string;
  /** as written in the part: relative to the service root, query string included */
  url: string;
  /** lower-case names */
  headers: Record<string, string>;
  body: string;
}

export interface SimBatchPart {
  changeset: boolean;
  operations: SimOperation[];
}

export interface SimOperationResult {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

export type SimOperationHandler = (op: SimOperation) => Promise<SimOperationResult>;

export class SimBatchError extends Error {}

const STATUS_TEXT: Record<number, string> = { 200: 'OK', 201: 'Created', 204: 'No Content', 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 409: 'Conflict', 412: 'Precondition Failed', 500: 'Internal Server Error', 503: 'Service Unavailable' };

function boundaryParam(type: string): string | undefined {
  const m = /;\s*boundary=("?)([^";]+)\1/i.exec(type);
  return m ? m[2].trim() : undefined;
}

/** Lines of a multipart body grouped by delimiter; the epilogue after the close delimiter is ignored. */
function parts(text: string, boundary: string): string[][] {
  const out: string[][] = [];
  let cur: string[] | null = null;
  let closed = false;
  for (const line of text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l))) {
    const bare = line.replace(/[ \t]+$/, '');
    if (bare === `--${boundary}--`) {
      if (cur) out.push(cur);
      cur = null;
      closed = true;
      break;
    }
    if (bare === `--${boundary}`) {
      if (cur) out.push(cur);
      cur = [];
      continue;
    }
    if (cur) cur.push(line);
  }
  if (!closed) throw new SimBatchError(`missing the closing delimiter --${boundary}--`);
  return out;
}

/** Header lines up to the first empty line; returns the headers and the index after the blank. */
function headerBlock(lines: string[], from: number): [Record<string, string>, number] {
  const h: Record<string, string> = {};
  let i = from;
  for (; i < lines.length && lines[i].trim() !== ''; i++) {
    const at = lines[i].indexOf(':');
    if (at <= 0) throw new SimBatchError(`bad header line: ${lines[i].slice(0, 60)}`);
    h[lines[i].slice(0, at).trim().toLowerCase()] = lines[i].slice(at + 1).trim();
  }
  return [h, i + 1];
}

function operation(lines: string[]): SimOperation {
  const [mime, start] = headerBlock(lines, 0);
  if (!/^application\/http/i.test(mime['content-type'] ?? '')) throw new SimBatchError('a part is not application/http');
  let i = start;
  while (i < lines.length && lines[i].trim() === '') i++;
  const req = /^([A-Z]+) (\S+) HTTP\/1\.[01]\s*$/.exec(lines[i] ?? '');
  if (!req) throw new SimBatchError(`bad request line: ${(lines[i] ?? '').slice(0, 60)}`);
  const [headers, bodyStart] = headerBlock(lines, i + 1);
  const body = lines.slice(bodyStart).join('\n').replace(/\s+$/, '');
  return { method: req[1], url: req[2], headers, body };
}

/** Parse a `$batch` request body into its parts: single reads and changesets of writes. */
export function parseBatchRequest(contentType: string, body: string): SimBatchPart[] {
  if (!/^multipart\/mixed/i.test(contentType)) throw new SimBatchError('Content-Type must be multipart/mixed');
  const b = boundaryParam(contentType);
  if (!b) throw new SimBatchError('no boundary in Content-Type');
  return parts(body, b).map((lines): SimBatchPart => {
    const [mime, start] = headerBlock(lines, 0);
    const type = mime['content-type'] ?? '';
    if (/^multipart\/mixed/i.test(type)) {
      const cs = boundaryParam(type);
      if (!cs) throw new SimBatchError('changeset without a boundary');
      const ops = parts(lines.slice(start).join('\n'), cs).map(operation);
      for (const op of ops) if (op.method === 'GET') throw new SimBatchError('a GET inside a changeset');
      return { changeset: true, operations: ops };
    }
    const op = operation(lines);
    if (op.method !== 'GET') throw new SimBatchError(`${op.method} outside a changeset`);
    return { changeset: false, operations: [op] };
  });
}

function httpAnswer(r: SimOperationResult): string {
  const body = r.body ?? '';
  const head = [`HTTP/1.1 ${r.status} ${STATUS_TEXT[r.status] ?? 'Status'}`];
  for (const [k, v] of Object.entries({ 'Content-Type': 'application/json', ...(r.headers ?? {}) })) head.push(`${k}: ${v}`);
  head.push(`Content-Length: ${Buffer.byteLength(body, 'utf8')}`, 'dataserviceversion: 2.0');
  return ['Content-Type: application/http', 'Content-Transfer-Encoding: binary', '', ...head, '', body].join('\r\n');
}

export interface BatchAnswer {
  status: number;
  contentType: string;
  body: string;
  /** operations run (for the cost model and counters) */
  operations: number;
}

/**
 * Answer a `$batch`: each part in order through `handler`, `perOperationMs` charged per
 * operation, up to and including the first failed changeset. A malformed batch is one 400
 * (nothing run).
 */
export async function answerBatch(contentType: string, raw: string, handler: SimOperationHandler, opts: { perOperationMs?: number } = {}): Promise<BatchAnswer> {
  let request: SimBatchPart[];
  try {
    request = parseBatchRequest(contentType, raw);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return { status: 400, contentType: 'application/json', body: JSON.stringify({ error: { code: 'SY/530', message: { lang: 'en', value: `Invalid batch request: ${message}` } } }), operations: 0 };
  }
  const b = `batch_${randomBytes(8).toString('hex')}`;
  const out: string[] = [];
  let count = 0;
  for (const part of request) {
    const answers: SimOperationResult[] = [];
    let failed: SimOperationResult | undefined;
    for (const op of part.operations) {
      count++;
      if (opts.perOperationMs && opts.perOperationMs > 0) await delay(opts.perOperationMs);
      const r = await handler(op);
      if (part.changeset && r.status >= 400) {
        failed = r;
        break;
      }
      answers.push(r);
    }
    if (!part.changeset || failed) {
      out.push(`--${b}\r\n${httpAnswer(failed ?? answers[0])}\r\n`);
      if (failed) break;
    } else {
      const cs = `changeset_${randomBytes(8).toString('hex')}`;
      out.push(`--${b}\r\nContent-Type: multipart/mixed; boundary=${cs}\r\n\r\n${answers.map((a) => `--${cs}\r\n${httpAnswer(a)}\r\n`).join('')}--${cs}--\r\n`);
    }
  }
  return { status: 202, contentType: `multipart/mixed; boundary=${b}`, body: `${out.join('')}--${b}--\r\n`, operations: count };
}
