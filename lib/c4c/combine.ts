/**
 * The C4C client's concurrency + combining layer: every request waits here for a slot (at most
 * `maxConcurrency` in flight, a change before new lookups), and only what has to wait is combined:
 * lookups on one set + property into one GET (`P eq 'a' or P eq 'b'`), creates on one set into one
 * `$batch` (a changeset each), up to `batchSize`. A combined request that fails as a whole is
 * retried as its parts, each alone (the retry layer above does that) — also one C4C refused as a
 * whole with a 4xx (but 401), which the part alone may pass. A `$batch` of n creates
 * gets n times the request timeout (C4C runs its changesets one after another: each create gets
 * the time it would get alone); an answer that stops early (at a failed changeset) keeps every
 * part that arrived, and only the creates without an answer have an unknown outcome.
 */
import { Limiter } from '../util/limiter';
import { AMBIGUOUS_STATUS } from '../util/http';
import { batchResults, buildBatchRequest, buildOrFilters, matchByValue, parseBatchResponse } from './batch';
import { C4CError, notODataError, odataError } from './errors';
import { unwrapOData, type ODataRequest, type ODataResult } from './odata';

/** C4C answers at most 1000 rows per request. */
const COMBINED_TOP = 1000;

interface Waiting {
  req: ODataRequest;
  resolve: (r: ODataResult) => void;
  reject: (e: unknown) => void;
}

export interface CombinerOptions {
  maxConcurrency: number;
  /** 1 = never combine */
  batchSize: number;
  /** the HTTP layer: one request on the wire */
  http: (req: ODataRequest, fetchToken: boolean) => Promise<ODataResult>;
  redact: (text: string) => string;
  stats: { combinedLookups: number; batches: number; batchedCreates: number; wholeFailures: number };
}

/** A copy of an error for one of several requests (callers may add to the message). */
function copyError(err: unknown): unknown {
  if (!(err instanceof C4CError)) return err;
  // every field (hint, location, ambiguous, …), a stack of its own
  return Object.assign(new C4CError(err.message, err.code, err.statusCode, err.transient), err, { stack: new Error(err.message).stack });
}

export class Combiner {
  private readonly limiter: Limiter;
  private readonly groups = new Map<string, Waiting[]>();

  constructor(private readonly o: CombinerOptions) {
    this.limiter = new Limiter(o.maxConcurrency);
  }

  /** Send `req` in a slot, alone or combined with others waiting (never a token fetch). */
  run(req: ODataRequest, fetchToken: boolean): Promise<ODataResult> {
    const key = fetchToken ? undefined : this.groupKey(req);
    const priority = req.method !== 'GET';
    // Only what has to wait is combined: with a free slot, a request goes at once and alone.
    if (key && this.limiter.running >= this.o.maxConcurrency) {
      return new Promise<ODataResult>((resolve, reject) => {
        const group = this.groups.get(key) ?? [];
        group.push({ req, resolve, reject });
        this.groups.set(key, group);
        // One ticket per request; a ticket that finds its group emptied by an earlier one is free.
        void this.limiter.run(() => this.runGroup(key), priority).catch(() => undefined);
      });
    }
    return this.limiter.run(() => this.o.http(req, fetchToken), priority);
  }

  /** Requests combine with others of the same key: lookups on one set + property (+ the rest of the query), creates on one set. */
  private groupKey(req: ODataRequest): string | undefined {
    if (this.o.batchSize < 2 || req.alone || req.raw) return undefined;
    if (req.method === 'GET' && req.lookup) {
      const others = (req.query ?? []).filter(([k]) => k !== '$filter' && k !== '$top');
      if (others.some(([k]) => k === '$skip')) return undefined;
      const select = others.find(([k]) => k === '$select');
      // the property must come back to match the rows to their values
      if (select && !select[1].split(',').includes(req.lookup.property)) return undefined;
      return `L\u0000${req.path}\u0000${req.lookup.property}\u0000${JSON.stringify(others)}`;
    }
    if (req.method === 'POST' && req.combine) return `C\u0000${req.path}`;
    return undefined;
  }

  /** Runs in a slot: takes up to batchSize waiting requests of the group and sends them as one. */
  private async runGroup(key: string): Promise<void> {
    const group = this.groups.get(key);
    if (!group || !group.length) return;
    let take = group.splice(0, this.o.batchSize);
    if (take[0].req.lookup) {
      // Keep the URL under a safe length: what does not fit waits for the next ticket.
      const first = new Set(buildOrFilters(take[0].req.lookup.property, take.map((c) => c.req.lookup!.value))[0].values);
      const later = take.filter((c) => !first.has(c.req.lookup!.value));
      take = take.filter((c) => first.has(c.req.lookup!.value));
      group.unshift(...later);
    }
    if (!group.length) this.groups.delete(key);
    if (take.length === 1) {
      await this.o.http(take[0].req, false).then(take[0].resolve, take[0].reject);
      return;
    }
    try {
      if (take[0].req.lookup) await this.combinedLookup(take);
      else await this.combinedCreate(take);
    } catch (err) {
      // Failed as a whole: every part gets the error and is retried (or settled) on its own.
      this.o.stats.wholeFailures++;
      for (const c of take) {
        c.req.alone = true;
        const e = copyError(err);
        if (e instanceof C4CError) {
          if (!c.req.lookup) e.settlePeriods = take.length;
          // Refused as a whole (400, 404, 413, 414, …: nothing in it ran): the part alone may well
          // pass, so it is sent again alone (not for wrong credentials; an expired token has its own retry).
          const status = e.statusCode ?? 0;
          if (status >= 400 && status < 500 && status !== 401 && !e.csrfRequired) e.transient = true;
        }
        c.reject(e);
      }
    }
  }

  private async combinedLookup(take: Waiting[]): Promise<void> {
    const first = take[0].req;
    const property = first.lookup!.property;
    const values = take.map((c) => c.req.lookup!.value);
    const [chunk] = buildOrFilters(property, values);
    const others = (first.query ?? []).filter(([k]) => k !== '$filter' && k !== '$top');
    this.o.stats.combinedLookups++;
    const res = await this.o.http({ ...first, lookup: undefined, query: [['$filter', chunk.filter], ['$top', String(COMBINED_TOP)], ...others] }, false);
    if (!Array.isArray(res.data)) throw new C4CError(`C4C ${first.what} failed: the answer has no result list`, 'C4C_NOT_ODATA', res.status);
    const rows = res.data as Record<string, unknown>[];
    // A cut answer (a next page, or a full one) may hold only part of any value's rows (C4C's
    // wildcards, case folding, obsolete customers crowding it): every value is asked alone then,
    // so that its own lookup can page on (a value shown only its obsolete rows would be created again).
    if (res.next || rows.length >= COMBINED_TOP) {
      for (const c of take) await this.o.http(c.req, false).then(c.resolve, c.reject);
      return;
    }
    const byValue = matchByValue(property, values, rows.filter((r) => r && typeof r === 'object'));
    for (const c of take) c.resolve({ status: res.status, headers: res.headers, data: byValue.get(c.req.lookup!.value) ?? [] });
  }

  private async combinedCreate(take: Waiting[]): Promise<void> {
    const ops = take.map((c) => ({ method: 'POST' as const, url: c.req.path, body: c.req.body }));
    const batch = buildBatchRequest(ops);
    this.o.stats.batches++;
    this.o.stats.batchedCreates += take.length;
    const res = await this.o.http({ method: 'POST', path: '$batch', what: `$batch of ${take.length} creates`, raw: { contentType: batch.headers['Content-Type'], text: batch.body }, operations: take.length }, false);
    let answers;
    try {
      answers = batchResults(ops, parseBatchResponse(res.headers['content-type'], String(res.data ?? '')));
    } catch (err) {
      // Unreadable: the creates may have been committed. Ambiguous for every part.
      const e = new C4CError(this.o.redact(`C4C ${take[0].req.what} failed: ${(err as Error).message}`), 'C4C_NOT_ODATA', res.status, true);
      e.ambiguous = true;
      throw e;
    }
    take.forEach((c, i) => {
      const a = answers[i];
      if (!a) {
        // C4C stopped the $batch at an earlier changeset's error before this create. Not answered:
        // its outcome counts as unknown (the settle rule: looked up before it is sent again).
        const e = new C4CError(`C4C ${c.req.what} failed: the $batch answer ended before this create (C4C stops a $batch at a failed changeset)`, 'C4C_UNANSWERED', undefined, true);
        e.ambiguous = true;
        e.settlePeriods = 0; // the answer is complete: C4C is done with this $batch, nothing of it is still running
        c.reject(e);
        return;
      }
      if (a.status >= 400) {
        const e = odataError(a.status, a.body, c.req.what);
        e.message = this.o.redact(e.message);
        if (AMBIGUOUS_STATUS.has(a.status)) e.ambiguous = true;
        c.reject(e);
        return;
      }
      let data: unknown;
      try {
        data = a.body.trim() ? unwrapOData(JSON.parse(a.body)) : undefined;
      } catch {
        c.reject(notODataError(a.status, a.headers['content-type'] ?? '', a.body, c.req.what));
        return;
      }
      c.resolve({ status: a.status, headers: a.headers, data });
    });
  }
}
