import { setMaxListeners } from 'node:events';
import { Agent as HttpsAgent } from 'node:https';
import { createSecureContext } from 'node:tls';
import type { AxiosInstance, AxiosResponse } from 'axios';
import { Limiter } from '../util/limiter';
import { redact } from '../util/redact';
import { AMBIGUOUS_STATUS, createHttp, isTransientNetworkCode, networkErrorCode, retryAfterMs, sendState, withRetries } from '../util/http';
import { batchResults, buildBatchRequest, buildOrFilters, matchByValue, parseBatchResponse } from './batch';
import { C4CError, notODataError, odataError, redirectError } from './errors';

export { C4CError, C4CInputError, odataError } from './errors';

export interface C4CClientOptions {
  /** e.g. https://my000000.crm.ondemand.com */
  baseUrl: string;
  /** default /sap/c4c/odata/v1/c4codataapi */
  servicePath?: string;
  /** 'basic' (default): user + password; 'certificate': a TLS client certificate (communication arrangement) */
  auth?: 'basic' | 'certificate';
  username?: string;
  password?: string;
  /** PEM certificate (chain) and private key, for auth 'certificate' */
  certificate?: string;
  privateKey?: string;
  passphrase?: string;
  /** extra trusted CA(s), PEM (besides NODE_EXTRA_CA_CERTS) */
  ca?: string;
  /** logon language: sent as sap-language and Accept-Language (default en) */
  language?: string;
  /** in-flight requests per tenant (default 4) */
  maxConcurrency?: number;
  /**
   * Requests that WAIT for a slot are combined, up to this many: lookups on the same property in
   * one GET (`P eq 'a' or P eq 'b'`), creates in one `$batch` (one changeset each). 1 = off; default 20.
   */
  batchSize?: number;
  /** ms per request (default 30000) */
  timeoutMs?: number;
  /** retries of transient failures (default 3) */
  retries?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
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

interface Attempt {
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
  /** never combine again (a combined request failed as a whole: retried as its parts) */
  alone?: boolean;
}

interface Combined {
  req: Attempt;
  resolve: (r: ODataResult) => void;
  reject: (e: unknown) => void;
}

/** A copy of an error for one of several requests (callers may add to the message). */
function copyError(err: unknown): unknown {
  if (!(err instanceof C4CError)) return err;
  // every field (hint, location, ambiguous, …), a stack of its own
  return Object.assign(new C4CError(err.message, err.code, err.statusCode, err.transient), err, { stack: new Error(err.message).stack });
}

/** C4C answers at most 1000 rows per request. */
const COMBINED_TOP = 1000;

/**
 * One OData session per tenant: Basic auth or a client certificate, the CSRF token fetched on a
 * GET the client makes anyway (or the service document), every Set-Cookie kept and sent back —
 * also when C4C hands out no token (a technical user): the session is the cookies then —, token
 * and cookies reused until C4C answers 403 + `x-csrf-token: Required` (then refetched once, shared
 * by all waiting requests, and the request retried once), at most `maxConcurrency` requests in
 * flight (one queue: `slot()`), transient failures retried with backoff honouring Retry-After.
 * Only a real OData answer is success: a 3xx is C4C_REDIRECT, an HTML page or empty body
 * C4C_NOT_ODATA. Nothing secret reaches an error message.
 */
export class C4CClient {
  readonly servicePath: string;
  readonly language: string;
  private readonly http: AxiosInstance;
  private readonly limiter: Limiter;
  private readonly maxConcurrency: number;
  readonly batchSize: number;
  private readonly groups = new Map<string, Combined[]>();
  private readonly retries: number;
  private readonly backoffBaseMs: number;
  private readonly backoffMaxMs: number;
  private readonly secrets: string[];
  private readonly authHeader: string | undefined;
  private csrfToken: string | undefined;
  /** a session is open: cookies (and a token, unless C4C gives none) */
  private sessionOpen = false;
  private readonly cookies = new Map<string, string>();
  /** Changes whenever the session is dropped or a new one opened: stale answers cannot touch the jar. */
  private sessionGen = 0;
  private csrfFetch: Promise<void> | undefined;
  private closed = false;
  /** Aborted on close: a pause between retries ends at once and the request fails as stopped. */
  private readonly stopping = new AbortController();
  readonly stats = { requests: 0, gets: 0, posts: 0, csrfFetches: 0, csrfRetries: 0, retries: 0, metadata: 0, combinedLookups: 0, batches: 0, batchedCreates: 0, wholeFailures: 0 };

  constructor(opts: C4CClientOptions) {
    this.servicePath = '/' + String(opts.servicePath || '/sap/c4c/odata/v1/c4codataapi').replace(/^\/+|\/+$/g, '');
    this.language = String(opts.language || 'en').trim() || 'en';
    // Every waiting retry pause and settle listens to this signal: a burst has many at once.
    setMaxListeners(0, this.stopping.signal);
    this.maxConcurrency = Math.max(1, Math.floor(opts.maxConcurrency ?? 4));
    this.limiter = new Limiter(this.maxConcurrency);
    this.batchSize = Math.max(1, Math.floor(Number.isFinite(opts.batchSize) ? (opts.batchSize as number) : 20));
    this.retries = Math.max(0, Math.floor(opts.retries ?? 3));
    this.backoffBaseMs = opts.backoffBaseMs ?? 1000;
    this.backoffMaxMs = opts.backoffMaxMs ?? 30000;
    const certificate = opts.auth === 'certificate';
    this.authHeader = certificate ? undefined : `Basic ${Buffer.from(`${opts.username ?? ''}:${opts.password ?? ''}`, 'utf8').toString('base64')}`;
    this.secrets = [opts.password, this.authHeader?.slice(6), opts.passphrase].filter((s): s is string => !!s && s.length >= 4);
    if (certificate) {
      if (!opts.certificate || !opts.privateKey) throw new C4CError('C4C client certificate authentication needs a certificate and a private key (PEM)', 'C4C_CONFIG');
      // Fails now (wrong passphrase, key not matching the certificate) rather than on the first follower.
      try {
        createSecureContext({ cert: opts.certificate, key: opts.privateKey, passphrase: opts.passphrase || undefined });
      } catch (err) {
        throw new C4CError(`C4C client certificate unusable: ${(err as Error).message}`, 'C4C_CONFIG');
      }
    }
    const agent = certificate || opts.ca
      ? new HttpsAgent({ keepAlive: true, cert: certificate ? opts.certificate : undefined, key: certificate ? opts.privateKey : undefined, passphrase: certificate ? opts.passphrase || undefined : undefined, ca: opts.ca || undefined })
      : undefined;
    this.http = createHttp({ baseURL: opts.baseUrl, timeoutMs: opts.timeoutMs ?? 30000, httpsAgent: agent });
  }

  redact(text: unknown): string {
    return redact(text, [...this.secrets, ...this.cookies.values(), this.csrfToken]);
  }

  /** GET a collection or entity; the first GET of a session also fetches the CSRF token. */
  async get(path: string, query: Record<string, string> = {}, what = 'query', opts: { lookup?: { property: string; value: string } } = {}): Promise<ODataResult> {
    return this.send({ method: 'GET', path, query: [...Object.entries(query), ['$format', 'json']], what, lookup: opts.lookup });
  }

  /** POST an entity; needs the session (and its CSRF token, if C4C gives one). */
  async post(path: string, body: unknown, what = 'create', opts: { combine?: boolean } = {}): Promise<ODataResult> {
    return this.send({ method: 'POST', path, body, what, combine: opts.combine });
  }

  /** The tenant's $metadata (only the given entity sets, as C4C allows with ?entityset=), as text. */
  async metadata(entitySets: string[] = []): Promise<string> {
    this.stats.metadata++;
    const res = await this.send({ method: 'GET', path: '$metadata', query: entitySets.map((s) => ['entityset', s] as [string, string]), what: '$metadata read', xml: true });
    return String(res.data ?? '');
  }

  /** Fetch a CSRF token on the service document (single-flight). */
  fetchCsrf(): Promise<void> {
    if (!this.csrfFetch) {
      const p = this.exchange({ method: 'GET', path: '', query: [['$format', 'json']], what: 'CSRF token fetch' }, true)
        .then(() => undefined)
        .finally(() => {
          if (this.csrfFetch === p) this.csrfFetch = undefined;
        });
      this.csrfFetch = p;
    }
    return this.csrfFetch;
  }

  private send(req: Attempt): Promise<ODataResult> {
    const modifying = req.method !== 'GET';
    return withRetries(
      () => this.sendOnce(req, modifying),
      (err) => {
        const e = err as C4CError;
        if (!(e instanceof C4CError) || !e.transient || this.closed) return { retry: false };
        // A modifying request that may have reached C4C (timeout, reset, 502/504) is not repeated
        // here: the caller decides (the customer service looks the entity up before re-creating).
        if (modifying && e.ambiguous) return { retry: false };
        return { retry: true, retryAfterMs: e.retryAfterMs };
      },
      { retries: this.retries, baseMs: this.backoffBaseMs, maxMs: this.backoffMaxMs, signal: this.stopping.signal },
      {
        onRetry: () => this.stats.retries++,
        stopped: () => new C4CError(`C4C ${req.what} stopped: the tenant configuration was closed (redeploy)`, 'C4C_CLOSED'),
      },
    );
  }

  private async sendOnce(req: Attempt, modifying: boolean): Promise<ODataResult> {
    // Everybody joins the session being opened rather than opening one each.
    if (this.csrfFetch) await this.csrfFetch.catch(() => undefined);
    let carrier = false;
    if (!this.sessionOpen) {
      if (modifying) await this.fetchCsrf();
      else if (!this.csrfFetch) carrier = true; // this GET fetches the token for everyone
    }
    const usedGen = this.sessionGen;
    try {
      return await this.exchange(req, carrier);
    } catch (err) {
      const e = err as C4CError;
      if (!modifying || !e.csrfRequired) throw err;
      // 403 + x-csrf-token: Required: the session expired. Drop it only if it is still the one
      // that failed, reopen once (shared), and try once more.
      this.stats.csrfRetries++;
      if (this.sessionGen === usedGen) this.dropSession();
      if (!this.sessionOpen) await this.fetchCsrf();
      return this.exchange(req, false);
    }
  }

  private async exchange(req: Attempt, fetchToken: boolean): Promise<ODataResult> {
    if (fetchToken && !this.csrfFetch) {
      // A GET that carries the fetch is itself the single flight.
      let resolve!: () => void;
      const gate = new Promise<void>((r) => (resolve = r));
      this.csrfFetch = gate;
      try {
        return await this.exchangeRaw(req, true);
      } finally {
        if (this.csrfFetch === gate) this.csrfFetch = undefined;
        resolve();
      }
    }
    return this.exchangeRaw(req, fetchToken);
  }

  /**
   * The single place where every request waits for a slot (at most maxConcurrency in flight).
   * A change (it completes a follower whose lookup already ran) goes before new lookups. Request
   * coalescing and $batch can hook in here: whatever waits in this queue can be combined.
   */
  slot<T>(task: () => Promise<T>, priority: boolean): Promise<T> {
    return this.limiter.run(task, priority);
  }

  private exchangeRaw(req: Attempt, fetchToken: boolean): Promise<ODataResult> {
    const key = fetchToken ? undefined : this.groupKey(req);
    // Only what has to wait is combined: with a free slot, a request goes at once and alone.
    if (key && this.limiter.running >= this.maxConcurrency) {
      return new Promise<ODataResult>((resolve, reject) => {
        const group = this.groups.get(key) ?? [];
        group.push({ req, resolve, reject });
        this.groups.set(key, group);
        // One ticket per request; a ticket that finds its group emptied by an earlier one is free.
        void this.slot(() => this.runGroup(key), req.method !== 'GET').catch(() => undefined);
      });
    }
    return this.slot(() => this.transfer(req, fetchToken), req.method !== 'GET');
  }

  /** Requests combine with others of the same key: lookups on one set + property (+ the rest of the query), creates on one set. */
  private groupKey(req: Attempt): string | undefined {
    if (this.batchSize < 2 || req.alone || req.raw) return undefined;
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
    let take = group.splice(0, this.batchSize);
    if (take[0].req.lookup) {
      // Keep the URL under a safe length: what does not fit waits for the next ticket.
      const first = new Set(buildOrFilters(take[0].req.lookup.property, take.map((c) => c.req.lookup!.value))[0].values);
      const later = take.filter((c) => !first.has(c.req.lookup!.value));
      take = take.filter((c) => first.has(c.req.lookup!.value));
      group.unshift(...later);
    }
    if (!group.length) this.groups.delete(key);
    if (take.length === 1) {
      await this.transfer(take[0].req, false).then(take[0].resolve, take[0].reject);
      return;
    }
    try {
      if (take[0].req.lookup) await this.combinedLookup(take);
      else await this.combinedCreate(take);
    } catch (err) {
      // Failed as a whole: every part gets the error and is retried (or settled) on its own.
      this.stats.wholeFailures++;
      for (const c of take) {
        c.req.alone = true;
        c.reject(copyError(err));
      }
    }
  }

  private async combinedLookup(take: Combined[]): Promise<void> {
    const first = take[0].req;
    const property = first.lookup!.property;
    const values = take.map((c) => c.req.lookup!.value);
    const [chunk] = buildOrFilters(property, values);
    const others = (first.query ?? []).filter(([k]) => k !== '$filter' && k !== '$top');
    this.stats.combinedLookups++;
    const res = await this.transfer({ ...first, lookup: undefined, query: [['$filter', chunk.filter], ['$top', String(COMBINED_TOP)], ...others] }, false);
    if (!Array.isArray(res.data)) throw new C4CError(`C4C ${first.what} failed: the answer has no result list`, 'C4C_NOT_ODATA', res.status);
    const rows = res.data as Record<string, unknown>[];
    const byValue = matchByValue(property, values, rows.filter((r) => r && typeof r === 'object'));
    for (const c of take) {
      const mine = byValue.get(c.req.lookup!.value) ?? [];
      // A full answer may have crowded a value out (C4C's wildcards, case folding): ask for it alone.
      if (!mine.length && rows.length >= COMBINED_TOP) {
        await this.transfer(c.req, false).then(c.resolve, c.reject);
        continue;
      }
      c.resolve({ status: res.status, headers: res.headers, data: mine });
    }
  }

  private async combinedCreate(take: Combined[]): Promise<void> {
    const ops = take.map((c) => ({ method: 'POST' as const, url: c.req.path, body: c.req.body }));
    const batch = buildBatchRequest(ops);
    this.stats.batches++;
    this.stats.batchedCreates += take.length;
    const res = await this.transfer({ method: 'POST', path: '$batch', what: `$batch of ${take.length} creates`, raw: { contentType: batch.headers['Content-Type'], text: batch.body } }, false);
    let answers;
    try {
      answers = batchResults(ops, parseBatchResponse(res.headers['content-type'], String(res.data ?? '')));
    } catch (err) {
      // Unreadable: the creates may have been committed. Ambiguous for every part.
      const e = new C4CError(this.redact(`C4C ${take[0].req.what} failed: ${(err as Error).message}`), 'C4C_NOT_ODATA', res.status, true);
      e.ambiguous = true;
      throw e;
    }
    take.forEach((c, i) => {
      const a = answers[i];
      if (a.status >= 400) {
        const e = odataError(a.status, a.body, c.req.what);
        e.message = this.redact(e.message);
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

  private transfer(req: Attempt, fetchToken: boolean): Promise<ODataResult> {
    return (async () => {
      this.stats.requests++;
      if (req.method === 'GET') this.stats.gets++;
      else this.stats.posts++;
      if (fetchToken) this.stats.csrfFetches++;
      const headers: Record<string, string> = {
        Accept: req.xml ? 'application/xml' : 'application/json',
        'Accept-Language': this.language,
        'sap-language': this.language,
      };
      if (this.authHeader) headers.Authorization = this.authHeader;
      if (fetchToken) headers['x-csrf-token'] = 'fetch';
      else if (req.method !== 'GET' && this.csrfToken) headers['x-csrf-token'] = this.csrfToken;
      const gen = this.sessionGen;
      const hadCookies = this.cookies.size > 0;
      if (hadCookies) headers.Cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
      let data: string | undefined;
      if (req.raw) {
        headers['Content-Type'] = req.raw.contentType;
        headers.Accept = 'multipart/mixed';
        data = req.raw.text;
      } else if (req.body !== undefined) {
        headers['Content-Type'] = 'application/json';
        data = JSON.stringify(req.body);
      }
      const qs = req.query && req.query.length ? '?' + req.query.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&') : '';
      const url = `${this.servicePath}/${req.path}${qs}`;
      let res: AxiosResponse<string>;
      try {
        res = await this.http.request<string>({ method: req.method, url, headers, data });
      } catch (err) {
        const e = err as { message?: string };
        const code = networkErrorCode(err);
        const error = new C4CError(this.redact(`C4C ${req.what} failed: ${code}${e.message ? ` (${e.message})` : ''}`), code, undefined, isTransientNetworkCode(code));
        if (req.method !== 'GET' && sendState(code) === 'maybe-sent') error.ambiguous = true;
        throw error;
      }
      const token = res.headers['x-csrf-token'];
      const tokenValue = typeof token === 'string' && token && token.toLowerCase() !== 'required' ? token : undefined;
      if (fetchToken && res.status < 300) {
        // The token (if any) and the cookies of this answer belong together: they are the session
        // now. A technical user gets no token: the cookies alone are the session, kept as well.
        if (!hadCookies || gen !== this.sessionGen) {
          this.cookies.clear();
          this.sessionGen++;
        }
        this.keepCookies(res.headers['set-cookie']);
        this.csrfToken = tokenValue;
        this.sessionOpen = true;
      } else if (hadCookies && gen === this.sessionGen) {
        // Cookie updates only from requests made in the current session; a request that went
        // without cookies opened a throw-away session on the server, which must not replace ours.
        this.keepCookies(res.headers['set-cookie']);
      }
      const body = typeof res.data === 'string' ? res.data : String(res.data ?? '');
      const contentType = String(res.headers['content-type'] ?? '');
      if (res.status >= 300 && res.status < 400) throw redirectError(res.status, String(res.headers.location ?? ''), req.what);
      if (res.status >= 400) {
        const e = odataError(res.status, body, req.what);
        e.message = this.redact(e.message);
        if (res.status === 403 && String(token || '').toLowerCase() === 'required') e.csrfRequired = true;
        e.retryAfterMs = retryAfterMs(res.headers['retry-after'] as string | undefined);
        if (req.method !== 'GET' && AMBIGUOUS_STATUS.has(res.status)) e.ambiguous = true;
        throw e;
      }
      const headersOut: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headersOut[k.toLowerCase()] = v;
      if (req.raw) return { status: res.status, headers: headersOut, data: body };
      if (req.xml) {
        if (!/xml/i.test(contentType) || !/<(edmx:)?Edmx\b/.test(body)) throw notODataError(res.status, contentType, body, req.what);
        return { status: res.status, headers: headersOut, data: body };
      }
      if (res.status === 204 && req.method !== 'GET') return { status: res.status, headers: headersOut, data: undefined };
      let parsed: unknown;
      try {
        if (!/json/i.test(contentType) || !body.trim()) throw new Error('not JSON');
        parsed = JSON.parse(body);
      } catch {
        throw notODataError(res.status, contentType, body, req.what);
      }
      return { status: res.status, headers: headersOut, data: unwrapOData(parsed) };
    })();
  }

  private keepCookies(setCookie: string[] | string | undefined): void {
    if (!setCookie) return;
    for (const line of Array.isArray(setCookie) ? setCookie : [setCookie]) {
      const first = line.split(';')[0];
      const eq = first.indexOf('=');
      if (eq <= 0) continue;
      const name = first.slice(0, eq).trim();
      const value = first.slice(eq + 1).trim();
      const expired = /max-age=0\b/i.test(line) || /expires=Thu, 01 Jan 1970/i.test(line);
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  /** Forget the session: the next request opens a new one. */
  resetSession(): void {
    this.dropSession();
  }

  private dropSession(): void {
    this.csrfToken = undefined;
    this.sessionOpen = false;
    this.cookies.clear();
    this.sessionGen++;
  }

  get hasSession(): boolean {
    return this.sessionOpen;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** An AbortSignal that fires on close (pauses of the customer service end with it). */
  get signal(): AbortSignal {
    return this.stopping.signal;
  }

  close(): void {
    this.closed = true;
    this.stopping.abort();
  }
}
