import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import { backoffDelay, sleep } from '../util/backoff';
import { Limiter } from '../util/limiter';
import { redact } from '../util/redact';

/** A failed C4C request. `code` is the OData error code, or C4C_<status>, or the network code. */
export class C4CError extends Error {
  readonly code: string;
  readonly statusCode: number | undefined;
  readonly transient: boolean;
  constructor(message: string, code: string, statusCode?: number, transient = false) {
    super(message);
    this.name = 'C4CError';
    this.code = code;
    this.statusCode = statusCode;
    this.transient = transient;
  }
}

export interface C4CClientOptions {
  /** e.g. https://my000000.crm.ondemand.com */
  baseUrl: string;
  /** default /sap/c4c/odata/v1/c4codataapi */
  servicePath?: string;
  username: string;
  password: string;
  /** in-flight requests per tenant (default 4) */
  maxConcurrency?: number;
  /** ms per request (default 30000) */
  timeoutMs?: number;
  /** retries of transient failures (default 3) */
  retries?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
}

const TRANSIENT_STATUS = new Set([429, 502, 503, 504]);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ECONNABORTED', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ERR_SOCKET_CONNECTION_TIMEOUT', 'ERR_BAD_RESPONSE']);
// The request surely never reached C4C: a modifying request may be sent again.
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

export interface ODataResult {
  status: number;
  headers: Record<string, string>;
  /** the parsed JSON body, unwrapped from d / d.results */
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

/** Turn an OData v2 error answer into a C4CError: message = error.message.value, code = error.code. */
export function odataError(status: number, body: string, what: string): C4CError {
  let message = '';
  let code = '';
  try {
    const parsed = JSON.parse(body) as { error?: { code?: string; message?: { value?: string } | string } };
    if (parsed && parsed.error) {
      code = typeof parsed.error.code === 'string' ? parsed.error.code : '';
      const m = parsed.error.message;
      message = typeof m === 'string' ? m : m && typeof m.value === 'string' ? m.value : '';
    }
  } catch {
    const xmlMessage = /<message[^>]*>([^<]*)<\/message>/.exec(body)?.[1];
    if (xmlMessage) message = xmlMessage;
    const xmlCode = /<code>([^<]*)<\/code>/.exec(body)?.[1];
    if (xmlCode) code = xmlCode;
  }
  if (status === 401) message = message || 'C4C rejected the credentials: check the user and password in c4c-config';
  if (!message) message = `HTTP ${status}`;
  return new C4CError(`C4C ${what} failed (${status}): ${message}`, code || `C4C_${status}`, status, TRANSIENT_STATUS.has(status));
}

function retryAfterMs(header: string | undefined): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const date = Date.parse(header);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : undefined;
}

interface Attempt {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string>;
  body?: unknown;
  what: string;
}

/**
 * One OData session per tenant: Basic auth, the CSRF token fetched on a GET the client makes
 * anyway (or the service document), every Set-Cookie kept and sent back, token and cookies reused
 * until C4C answers 403 + `x-csrf-token: Required` (then refetched once, shared by all waiting
 * requests, and the request retried once), at most `maxConcurrency` requests in flight, transient
 * failures retried with backoff honouring Retry-After. Nothing secret reaches an error message.
 */
export class C4CClient {
  readonly servicePath: string;
  private readonly http: AxiosInstance;
  private readonly limiter: Limiter;
  private readonly retries: number;
  private readonly backoffBaseMs: number;
  private readonly backoffMaxMs: number;
  private readonly secrets: string[];
  private readonly authHeader: string;
  private csrfToken: string | undefined;
  private readonly cookies = new Map<string, string>();
  /** Changes whenever the session is dropped or a new one opened: stale answers cannot touch the jar. */
  private sessionGen = 0;
  private csrfFetch: Promise<void> | undefined;
  private closed = false;
  /** Aborted on close: a pause between retries ends at once and the request fails as stopped. */
  private readonly stopping = new AbortController();
  readonly stats = { requests: 0, gets: 0, posts: 0, csrfFetches: 0, csrfRetries: 0, retries: 0 };

  constructor(opts: C4CClientOptions) {
    this.servicePath = '/' + String(opts.servicePath || '/sap/c4c/odata/v1/c4codataapi').replace(/^\/+|\/+$/g, '');
    this.limiter = new Limiter(Math.max(1, Math.floor(opts.maxConcurrency ?? 4)));
    this.retries = Math.max(0, Math.floor(opts.retries ?? 3));
    this.backoffBaseMs = opts.backoffBaseMs ?? 1000;
    this.backoffMaxMs = opts.backoffMaxMs ?? 30000;
    this.authHeader = `Basic ${Buffer.from(`${opts.username}:${opts.password}`, 'utf8').toString('base64')}`;
    this.secrets = [opts.password, this.authHeader.slice(6)].filter((s) => !!s && s.length >= 4);
    this.http = axios.create({
      baseURL: String(opts.baseUrl || '').replace(/\/+$/, ''),
      timeout: opts.timeoutMs ?? 30000,
      responseType: 'text',
      transformResponse: [(d: unknown) => d],
      validateStatus: () => true,
      maxRedirects: 0,
    });
  }

  redact(text: unknown): string {
    return redact(text, [...this.secrets, ...this.cookies.values(), this.csrfToken]);
  }

  /** GET a collection or entity; the first GET of a session also fetches the CSRF token. */
  async get(path: string, query: Record<string, string> = {}, what = 'query'): Promise<ODataResult> {
    return this.send({ method: 'GET', path, query: { ...query, $format: 'json' }, what });
  }

  /** POST an entity; needs the CSRF token (fetched first if there is none). */
  async post(path: string, body: unknown, what = 'create'): Promise<ODataResult> {
    return this.send({ method: 'POST', path, body, what });
  }

  /** Fetch a CSRF token on the service document (single-flight). */
  fetchCsrf(): Promise<void> {
    if (!this.csrfFetch) {
      const p = this.exchange({ method: 'GET', path: '', query: { $format: 'json' }, what: 'CSRF token fetch' }, true)
        .then(() => undefined)
        .finally(() => {
          if (this.csrfFetch === p) this.csrfFetch = undefined;
        });
      this.csrfFetch = p;
    }
    return this.csrfFetch;
  }

  private async send(req: Attempt): Promise<ODataResult> {
    const modifying = req.method !== 'GET';
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.sendOnce(req, modifying);
      } catch (err) {
        const e = err as C4CError;
        const retryable = e instanceof C4CError && e.transient;
        // A modifying request that may have reached C4C (timeout, reset, 502/504) is not repeated
        // here: the caller decides (the customer service looks the entity up before re-creating).
        const ambiguous = modifying && (e.statusCode === 502 || e.statusCode === 504 || (e.statusCode === undefined && !NOT_SENT_CODES.has(e.code)));
        if (!retryable || ambiguous || attempt >= this.retries || this.closed) throw err;
        this.stats.retries++;
        const wait = Math.max(backoffDelay(attempt, this.backoffBaseMs, this.backoffMaxMs), Math.min((e as C4CError & { retryAfterMs?: number }).retryAfterMs ?? 0, 120000));
        await sleep(wait, this.stopping.signal);
        if (this.closed) throw new C4CError(`C4C ${req.what} stopped: the tenant configuration was closed (redeploy)`, 'C4C_CLOSED');
      }
    }
  }

  private async sendOnce(req: Attempt, modifying: boolean): Promise<ODataResult> {
    // Everybody joins the session being opened rather than opening one each.
    if (this.csrfFetch) await this.csrfFetch.catch(() => undefined);
    let carrier = false;
    if (!this.csrfToken) {
      if (modifying) await this.fetchCsrf();
      else if (!this.csrfFetch) carrier = true; // this GET fetches the token for everyone
    }
    const usedToken = this.csrfToken;
    try {
      return await this.exchange(req, carrier);
    } catch (err) {
      const e = err as C4CError & { csrfRequired?: boolean };
      if (!modifying || !e.csrfRequired) throw err;
      // 403 + x-csrf-token: Required: the session expired. Drop the token only if it is still the
      // one that failed, refetch once (shared), and try once more.
      this.stats.csrfRetries++;
      if (this.csrfToken === usedToken) this.dropSession();
      if (!this.csrfToken) await this.fetchCsrf();
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

  private exchangeRaw(req: Attempt, fetchToken: boolean): Promise<ODataResult> {
    // A create (or any change) completes a follower whose lookup already ran: it goes before new
    // lookups, so under a burst followers finish one by one instead of all waiting for all lookups.
    return this.limiter.run(async () => {
      this.stats.requests++;
      if (req.method === 'GET') this.stats.gets++;
      else this.stats.posts++;
      if (fetchToken) this.stats.csrfFetches++;
      const headers: Record<string, string> = { Authorization: this.authHeader, Accept: 'application/json' };
      if (fetchToken) headers['x-csrf-token'] = 'fetch';
      else if (req.method !== 'GET' && this.csrfToken) headers['x-csrf-token'] = this.csrfToken;
      const gen = this.sessionGen;
      const hadCookies = this.cookies.size > 0;
      if (hadCookies) headers.Cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
      let data: string | undefined;
      if (req.body !== undefined) {
        headers['Content-Type'] = 'application/json';
        data = JSON.stringify(req.body);
      }
      const qs = req.query && Object.keys(req.query).length ? '?' + Object.entries(req.query).map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&') : '';
      const url = `${this.servicePath}/${req.path}${qs}`;
      let res: AxiosResponse<string>;
      try {
        res = await this.http.request<string>({ method: req.method, url, headers, data });
      } catch (err) {
        const e = err as { code?: string; message?: string };
        const code = typeof e.code === 'string' ? e.code : 'ENETWORK';
        throw new C4CError(this.redact(`C4C ${req.what} failed: ${code}${e.message ? ` (${e.message})` : ''}`), code, undefined, NETWORK_CODES.has(code) || code === 'ENETWORK');
      }
      const token = res.headers['x-csrf-token'];
      if (fetchToken && typeof token === 'string' && token && token.toLowerCase() !== 'required') {
        // The token and the cookies of this answer belong together: they are the session now.
        if (!hadCookies || gen !== this.sessionGen) {
          this.cookies.clear();
          this.sessionGen++;
        }
        this.keepCookies(res.headers['set-cookie']);
        this.csrfToken = token;
      } else if (hadCookies && gen === this.sessionGen) {
        // Cookie updates only from requests made in the current session; a request that went
        // without cookies opened a throw-away session on the server, which must not replace ours.
        this.keepCookies(res.headers['set-cookie']);
      }
      const body = typeof res.data === 'string' ? res.data : String(res.data ?? '');
      if (res.status >= 400) {
        const e = odataError(res.status, body, req.what) as C4CError & { csrfRequired?: boolean; retryAfterMs?: number };
        e.message = this.redact(e.message);
        if (res.status === 403 && String(token || '').toLowerCase() === 'required') e.csrfRequired = true;
        e.retryAfterMs = retryAfterMs(res.headers['retry-after'] as string | undefined);
        throw e;
      }
      let parsed: unknown = undefined;
      if (body.trim()) {
        try {
          parsed = JSON.parse(body);
        } catch {
          if (req.path !== '' && req.path !== '$metadata') throw new C4CError(`C4C ${req.what} failed: the answer is not JSON`, 'C4C_BAD_RESPONSE', res.status);
          parsed = body;
        }
      }
      const headersOut: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headersOut[k.toLowerCase()] = v;
      return { status: res.status, headers: headersOut, data: unwrapOData(parsed) };
    }, req.method !== 'GET');
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
    this.cookies.clear();
    this.sessionGen++;
  }

  get hasSession(): boolean {
    return !!this.csrfToken;
  }

  close(): void {
    this.closed = true;
    this.stopping.abort();
  }
}
