import { setMaxListeners } from 'node:events';
import { Agent as HttpsAgent } from 'node:https';
import { createSecureContext } from 'node:tls';
import type { AxiosInstance, AxiosResponse } from 'axios';
import { redact } from '../util/redact';
import { AMBIGUOUS_STATUS, createHttp, isTransientNetworkCode, networkErrorCode, retryAfterMs, sendState, withRetries, type RetryPolicy } from '../util/http';
import { Combiner } from './combine';
import { C4CError, notODataError, odataError, redirectError } from './errors';
import { entityTypeOf, parseMetadata, type ServiceMetadata } from './metadata';
import { nextLink, unwrapOData, type ODataRequest, type ODataResult } from './odata';

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
  /** ms per request (default 30000); a `$batch` of n creates gets n times this */
  timeoutMs?: number;
  /** transient failures: retries (default 3) and backoff (default 1 s .. 30 s) */
  retry?: Partial<Omit<RetryPolicy, 'signal'>>;
}

/**
 * One OData session per tenant: Basic auth or a client certificate, the CSRF token fetched on a
 * GET the client makes anyway (or the service document), every Set-Cookie kept and sent back —
 * also when C4C hands out no token (a technical user): the session is the cookies then —, token
 * and cookies reused until C4C answers 403 + `x-csrf-token: Required` (then refetched once, shared
 * by all waiting requests, and the request retried once), at most `maxConcurrency` requests in
 * flight, transient failures retried with backoff honouring Retry-After. Only a real OData answer
 * is success: a 3xx is C4C_REDIRECT, an HTML page or empty body C4C_NOT_ODATA. Nothing secret
 * reaches an error message.
 *
 * Layers, each named by what it adds, top to bottom: `retrying` (transient failures, backoff),
 * `inSession` (the session: cookies and the CSRF token, reopened once on 403 Required),
 * `carryingTokenFetch` (a GET that fetches the token for everyone), `combiner.run`
 * (lib/c4c/combine.ts: concurrency and combining), `overHttp` (one request on the wire).
 */
export class C4CClient {
  readonly servicePath: string;
  readonly language: string;
  private readonly http: AxiosInstance;
  private readonly timeoutMs: number;
  private readonly combiner: Combiner;
  readonly batchSize: number;
  private readonly retry: RetryPolicy;
  private readonly secrets: string[];
  private readonly authHeader: string | undefined;
  private csrfToken: string | undefined;
  /** a session is open: cookies (and a token, unless C4C gives none) */
  private sessionOpen = false;
  private readonly cookies = new Map<string, string>();
  /** Changes whenever the session is dropped or a new one opened: stale answers cannot touch the jar. */
  private sessionGen = 0;
  private csrfFetch: Promise<void> | undefined;
  /** `$metadata?$filter=` still worth asking (false once the tenant refused or ignored it) */
  private metadataFilter = true;
  /** the full `$metadata`, once the subset was not enough */
  private fullMetadata: Promise<ServiceMetadata> | undefined;
  /** answers to `$metadata?$filter=` (newest first, a few): a later read of sets one of them holds needs no request */
  private subsets: ServiceMetadata[] = [];
  private closed = false;
  /** Aborted on close: a pause between retries ends at once and the request fails as stopped. */
  private readonly stopping = new AbortController();
  readonly stats = { requests: 0, gets: 0, posts: 0, csrfFetches: 0, csrfRetries: 0, retries: 0, metadata: 0, fullMetadata: 0, combinedLookups: 0, batches: 0, batchedCreates: 0, wholeFailures: 0 };

  constructor(opts: C4CClientOptions) {
    this.servicePath = '/' + String(opts.servicePath || '/sap/c4c/odata/v1/c4codataapi').replace(/^\/+|\/+$/g, '');
    this.language = String(opts.language || 'en').trim() || 'en';
    // Every waiting retry pause and settle listens to this signal: a burst has many at once.
    setMaxListeners(0, this.stopping.signal);
    const maxConcurrency = Math.max(1, Math.floor(opts.maxConcurrency ?? 4));
    this.batchSize = Math.max(1, Math.floor(Number.isFinite(opts.batchSize) ? (opts.batchSize as number) : 20));
    this.combiner = new Combiner({ maxConcurrency, batchSize: this.batchSize, http: (req, fetchToken) => this.overHttp(req, fetchToken), redact: (t) => this.redact(t), stats: this.stats });
    this.retry = { baseMs: 1000, maxMs: 30000, ...opts.retry, retries: Math.max(0, Math.floor(opts.retry?.retries ?? 3)), signal: this.stopping.signal };
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
    this.timeoutMs = opts.timeoutMs ?? 30000;
    this.http = createHttp({ baseURL: opts.baseUrl, timeoutMs: this.timeoutMs, httpsAgent: agent });
  }

  redact(text: unknown): string {
    return redact(text, [...this.secrets, ...this.cookies.values(), this.csrfToken]);
  }

  /** GET a collection or entity; the first GET of a session also fetches the CSRF token. */
  async get(path: string, query: Record<string, string> = {}, what = 'query', opts: { lookup?: { property: string; value: string } } = {}): Promise<ODataResult> {
    return this.retrying({ method: 'GET', path, query: [...Object.entries(query), ['$format', 'json']], what, lookup: opts.lookup });
  }

  /**
   * The next page of a collection (an answer's `next`, C4C's `__next`): the link's path and query
   * under this service, sent to the configured tenant (never to a host the link names).
   */
  async getNext(link: string, what = 'query'): Promise<ODataResult> {
    const prefix = `${this.servicePath}/`;
    let url: URL | undefined;
    try {
      url = new URL(link, `http://tenant${prefix}`);
    } catch {
      url = undefined;
    }
    if (!url || !url.pathname.startsWith(prefix)) throw new C4CError(this.redact(`C4C ${what} failed: the next page link "${link.slice(0, 200)}" is not under ${this.servicePath}`), 'C4C_NOT_ODATA');
    const query = [...url.searchParams.entries()].filter(([k]) => k !== '$format');
    return this.retrying({ method: 'GET', path: url.pathname.slice(prefix.length), query: [...query, ['$format', 'json']], what });
  }

  /** POST an entity; needs the session (and its CSRF token, if C4C gives one). */
  async post(path: string, body: unknown, what = 'create', opts: { combine?: boolean } = {}): Promise<ODataResult> {
    return this.retrying({ method: 'POST', path, body, what, combine: opts.combine });
  }

  /**
   * The tenant's $metadata for these entity sets, parsed: `$metadata?$filter=<EntityType>,…` (the
   * subset SAP's C4C OData guide documents; an entity set's type is its name without `Collection`).
   * The answer holds the types asked for and the types they depend on (the guide), or the whole
   * document from a tenant that ignores the parameter: either way it is kept, and a later read of
   * sets it holds needs no request. When the tenant refuses the parameter (a 4xx) or its answer
   * lacks one of the sets (another subset), the full `$metadata` is read instead — once per client
   * (deploy), then kept and used for every later read. `fresh` reads again (the subset, if the
   * tenant answers it).
   */
  async metadata(entitySets: string[], opts: { fresh?: boolean } = {}): Promise<ServiceMetadata> {
    if (opts.fresh) this.subsets = [];
    if (this.fullMetadata && !opts.fresh) return this.fullMetadata;
    const kept = this.subsets.find((md) => entitySets.every((s) => !!entityTypeOf(md, s)));
    if (kept) return kept;
    const types = [...new Set(entitySets.map((s) => s.replace(/Collection$/, '')))];
    if (!this.metadataFilter || !types.length) return this.readFullMetadata();
    let md: ServiceMetadata | undefined;
    try {
      md = parseMetadata(await this.readMetadata([['$filter', types.join(',')]]));
    } catch (err) {
      // A logon page, a timeout, 401/403/429 would fail the full read the same way: only a refused parameter falls back.
      const status = err instanceof C4CError ? err.statusCode : undefined;
      if (err instanceof C4CError && (status === undefined || status < 400 || status >= 500 || [401, 403, 408, 429].includes(status))) throw err;
    }
    if (md && entitySets.every((s) => !!entityTypeOf(md, s))) {
      // More types than asked for is no sign of an ignored filter: C4C adds the dependent ones.
      this.subsets = [md, ...this.subsets].slice(0, 8);
      return md;
    }
    this.metadataFilter = false;
    return this.fullMetadata ?? this.readFullMetadata();
  }

  /** The full `$metadata`, read now and kept for the client's life (a failed read is not kept). */
  private readFullMetadata(): Promise<ServiceMetadata> {
    this.stats.fullMetadata++;
    const read = this.readMetadata([]).then(parseMetadata);
    this.fullMetadata = read;
    read.catch(() => {
      if (this.fullMetadata === read) this.fullMetadata = undefined;
    });
    return read;
  }

  /** One `$metadata` GET, as text. */
  private async readMetadata(query: [string, string][]): Promise<string> {
    this.stats.metadata++;
    const res = await this.retrying({ method: 'GET', path: '$metadata', query, what: '$metadata read', xml: true });
    return String(res.data ?? '');
  }

  /** Fetch a CSRF token on the service document (single-flight). */
  fetchCsrf(): Promise<void> {
    if (!this.csrfFetch) {
      const p = this.carryingTokenFetch({ method: 'GET', path: '', query: [['$format', 'json']], what: 'CSRF token fetch' }, true)
        .then(() => undefined)
        .finally(() => {
          if (this.csrfFetch === p) this.csrfFetch = undefined;
        });
      this.csrfFetch = p;
    }
    return this.csrfFetch;
  }

  /** The retry layer: transient failures again, with backoff (a change that may have happened: never). */
  private retrying(req: ODataRequest): Promise<ODataResult> {
    const modifying = req.method !== 'GET';
    return withRetries(
      () => this.inSession(req, modifying),
      (err) => {
        const e = err as C4CError;
        if (!(e instanceof C4CError) || !e.transient || this.closed) return { retry: false };
        // A modifying request that may have reached C4C (timeout, reset, 502/504) is not repeated
        // here: the caller decides (the customer service looks the entity up before re-creating).
        if (modifying && e.ambiguous) return { retry: false };
        return { retry: true, retryAfterMs: e.retryAfterMs };
      },
      this.retry,
      {
        onRetry: () => this.stats.retries++,
        stopped: () => new C4CError(`C4C ${req.what} stopped: the tenant configuration was closed (redeploy)`, 'C4C_CLOSED'),
      },
    );
  }

  /** The session layer: a change needs the session (and its CSRF token); an expired one is reopened once. */
  private async inSession(req: ODataRequest, modifying: boolean): Promise<ODataResult> {
    // Everybody joins the session being opened rather than opening one each.
    if (this.csrfFetch) await this.csrfFetch.catch(() => undefined);
    let carrier = false;
    if (!this.sessionOpen) {
      if (modifying) await this.fetchCsrf();
      else if (!this.csrfFetch) carrier = true; // this GET fetches the token for everyone
    }
    const usedGen = this.sessionGen;
    try {
      return await this.carryingTokenFetch(req, carrier);
    } catch (err) {
      const e = err as C4CError;
      if (!modifying || !e.csrfRequired) throw err;
      // 403 + x-csrf-token: Required: the session expired. Drop it only if it is still the one
      // that failed, reopen once (shared), and try once more.
      this.stats.csrfRetries++;
      if (this.sessionGen === usedGen) this.dropSession();
      if (!this.sessionOpen) await this.fetchCsrf();
      return this.carryingTokenFetch(req, false);
    }
  }

  /** A request that fetches the token (`x-csrf-token: fetch`) is the single flight everybody else joins. */
  private async carryingTokenFetch(req: ODataRequest, fetchToken: boolean): Promise<ODataResult> {
    if (fetchToken && !this.csrfFetch) {
      // A GET that carries the fetch is itself the single flight.
      let resolve!: () => void;
      const gate = new Promise<void>((r) => (resolve = r));
      this.csrfFetch = gate;
      try {
        return await this.combiner.run(req, true);
      } finally {
        if (this.csrfFetch === gate) this.csrfFetch = undefined;
        resolve();
      }
    }
    return this.combiner.run(req, fetchToken);
  }

  /** The HTTP layer: one request on the wire, with the session's cookies and token; the answer read and checked. */
  private overHttp(req: ODataRequest, fetchToken: boolean): Promise<ODataResult> {
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
        res = await this.http.request<string>({ method: req.method, url, headers, data, timeout: this.timeoutMs * Math.max(1, req.operations ?? 1) });
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
      return { status: res.status, headers: headersOut, data: unwrapOData(parsed), next: nextLink(parsed) };
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

  private dropSession(): void {
    this.csrfToken = undefined;
    this.sessionOpen = false;
    this.cookies.clear();
    this.sessionGen++;
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
