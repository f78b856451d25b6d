import { EventEmitter, setMaxListeners } from 'node:events';
import type { Readable } from 'node:stream';
import type { AxiosInstance } from 'axios';
import { backoffDelay } from '../util/backoff';
import { createHttp, mayRepeat, networkErrorCode, withRetries, type RetryPolicy } from '../util/http';
import { parseJsonExact } from '../util/json';
import { redact } from '../util/redact';
import type { Locks, SharedTokenStore } from '../store/types';
import { isStoreUnavailable } from '../store/errors';
import { MemorySharedTokenStore } from '../store/memory';
import { WeChatApiError, WeChatHttpError } from './errors';
import { readMedia, type MediaFile } from './media';

export type TokenMode = 'stable' | 'classic';

const TOKEN_ERRORS = new Set([40001, 40014, 42001]);
/** stable_token force_refresh: at most one every 30 s (WeChat's rule), never retried automatically. */
const FORCE_REFRESH_INTERVAL_MS = 30000;

/** What is stored per account. `token` never leaves lib/ except through getToken(). */
export interface TokenRecord {
  token: string;
  /** ms since the epoch */
  expiresAt: number;
  /** ms since the epoch */
  refreshedAt: number;
  expiresIn: number;
  mode: TokenMode;
}

/** The public view of the token: everything but the token. */
export interface TokenInfo {
  expiresAt: number;
  expiresIn: number;
  mode: TokenMode;
  refreshedAt: number;
}

/** Where tokens live: lib/store's shared token store (memory by default, Redis with a store). */
export type TokenStore = SharedTokenStore<TokenRecord>;

export interface WeChatClientOptions {
  apiBase: string;
  appId: string;
  secret: string;
  mode?: TokenMode;
  /** ms, per HTTP request (default 10000) */
  timeoutMs?: number;
  /** seconds before expiry a token is renewed (default 300; at most half the token's lifetime) */
  refreshAhead?: number;
  store?: TokenStore;
  /**
   * Several instances on one shared `store`: one refresh at a time across them, under this lock
   * (the token is read again once the lock is held). Without it: one at a time in this process.
   */
  lock?: Locks;
  /** -1 / connection failures: how many retries, and the backoff (default 3, 200 ms .. 5 s) */
  retry?: Partial<Omit<RetryPolicy, 'signal'>>;
  /** Extra values to scrub from every message (the AES keys, the Token). */
  secrets?: string[];
}

interface RawAnswer {
  errcode?: number | string;
  errmsg?: string;
  [key: string]: unknown;
}

/**
 * One WeChat API client per account: HTTP through axios, exact JSON, typed errors, and the
 * access token (single-flight, refreshed ahead of expiry, invalidated only if still the stored
 * one, one retry on a token error, bounded backoff on -1 and connection failures).
 * Emits `token` (TokenInfo) after every successful refresh and `token-error` (Error) on failure.
 */
export class WeChatClient extends EventEmitter {
  readonly appId: string;
  readonly mode: TokenMode;
  private readonly http: AxiosInstance;
  private readonly secret: string;
  private readonly store: TokenStore;
  private readonly lock: Locks | undefined;
  /** This instance's copy of the stored record: the shared store is read only when it is due or failed. */
  private cached: TokenRecord | undefined;
  private readonly refreshAheadMs: number;
  private readonly retry: RetryPolicy;
  private readonly secrets: string[];
  private inflight: Promise<TokenRecord> | undefined;
  private readonly owners = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private lastForcedAt = -Infinity;
  private closed = false;
  /** Aborted on close: a pause between retries ends at once and the call fails as stopped. */
  private readonly stopping = new AbortController();
  /** Counters for status and benchmarks. */
  readonly stats = { tokenRequests: 0, calls: 0, tokenRetries: 0, busyRetries: 0 };

  constructor(opts: WeChatClientOptions) {
    super();
    this.appId = opts.appId;
    this.secret = opts.secret;
    this.mode = opts.mode === 'classic' ? 'classic' : 'stable';
    this.store = opts.store ?? new MemorySharedTokenStore<TokenRecord>();
    setMaxListeners(0, this.stopping.signal); // every pause and lock wait listens
    this.lock = opts.lock;
    this.refreshAheadMs = Math.max(0, (opts.refreshAhead ?? 300) * 1000);
    this.retry = { retries: 3, baseMs: 200, maxMs: 5000, ...opts.retry, signal: this.stopping.signal };
    this.secrets = [opts.secret, ...(opts.secrets ?? [])].filter((s): s is string => !!s);
    // Text bodies (parsed by parseJsonExact: 64-bit ids stay exact), every status to exchange(), no redirects.
    this.http = createHttp({
      baseURL: opts.apiBase || 'https://api.weixin.qq.com',
      timeoutMs: opts.timeoutMs ?? 10000,
      headers: { 'Content-Type': 'application/json; charset=utf-8' },
    });
    this.setMaxListeners(100);
  }

  /** Scrub secrets and the current token from a text. */
  redact(text: unknown, extra: string[] = []): string {
    return redact(text, [...this.secrets, ...extra]);
  }

  // ---- HTTP ---------------------------------------------------------------------------------

  /**
   * One API exchange with the retry rules: a connection never made is retried always; a reset,
   * timeout or 5xx only when `idempotent` (a send may have been delivered); errcode -1 (busy)
   * with backoff; `retries` 0 for a forced stable_token (never repeated). close() ends a pause
   * at once as CLOSED.
   */
  private exchange(api: string, method: 'GET' | 'POST', path: string, params: Record<string, string>, body: unknown, idempotent: boolean, retry = this.retry): Promise<RawAnswer> {
    return this.retrying(api, () => this.exchangeOnce(api, method, path, params, body), idempotent, retry);
  }

  /** `attempt` with the exchange's retry rules (see exchange). */
  private retrying<T>(api: string, attempt: () => Promise<T>, idempotent: boolean, retry = this.retry): Promise<T> {
    return withRetries(
      attempt,
      (err) => ({
        retry: err instanceof WeChatApiError
          ? err.errcode === -1
          : err instanceof WeChatHttpError && (mayRepeat(err.code, idempotent) || (idempotent && /^HTTP_5/.test(err.code))),
      }),
      retry,
      {
        onRetry: (err) => {
          if (err instanceof WeChatApiError) this.stats.busyRetries++;
        },
        stopped: () => new WeChatHttpError(api, 'CLOSED', 'stopped: the account was closed (redeploy)'),
      },
    );
  }

  private async exchangeOnce(api: string, method: 'GET' | 'POST', path: string, params: Record<string, string>, body: unknown): Promise<RawAnswer> {
    let answer: RawAnswer;
    try {
      const res = await this.http.request({ method, url: path, params, data: body === undefined ? undefined : JSON.stringify(body) });
      if (res.status !== 200) {
        throw new WeChatHttpError(api, `HTTP_${res.status}`, `HTTP ${res.status}`, res.status);
      }
      try {
        answer = parseJsonExact(String(res.data)) as RawAnswer;
      } catch {
        throw new WeChatHttpError(api, 'BAD_JSON', 'the answer is not JSON', res.status);
      }
    } catch (err) {
      throw this.toHttpError(api, err);
    }
    const errcode = answer && answer.errcode !== undefined ? Number(answer.errcode) : 0;
    if (errcode !== 0) throw new WeChatApiError(api, errcode, this.redact(answer.errmsg ?? ''));
    return answer;
  }

  private toHttpError(api: string, err: unknown): WeChatHttpError {
    if (err instanceof WeChatHttpError) return err;
    const e = err as { message?: string } | undefined;
    const code = networkErrorCode(err);
    // Only the code and axios' short message: never the URL (it carries access_token) or config.
    return new WeChatHttpError(api, code, this.redact(`${code}${e && e.message ? `: ${e.message}` : ''}`));
  }

  // ---- token --------------------------------------------------------------------------------

  /** Renew this long before expiry: the largest refreshAhead any token-refresh node asked for, else the default; at most half the lifetime. */
  private aheadFor(record: TokenRecord): number {
    const wanted = this.owners.size ? Math.max(...this.owners.values()) : this.refreshAheadMs;
    return Math.min(wanted, (record.expiresIn * 1000) / 2);
  }

  private fresh(record: TokenRecord | undefined): record is TokenRecord {
    return !!record && record.expiresAt - Date.now() > this.aheadFor(record);
  }

  /** A valid access token, fetched or renewed when needed (one request for any number of callers). */
  async getToken(): Promise<string> {
    if (this.fresh(this.cached)) return this.cached.token;
    const record = await this.store.get(this.appId);
    if (this.fresh(record)) {
      this.cached = record;
      return record.token;
    }
    return (await this.refresh()).token;
  }

  /** Renew the token now. Concurrent calls share one request. `force` = stable_token force_refresh. */
  refresh(opts: { force?: boolean } = {}): Promise<TokenRecord> {
    // A forced refresh joins the one in flight (forced or not: either gives a fresh token).
    if (this.inflight) return this.inflight;
    const force = !!opts.force && this.mode === 'stable';
    if (force) {
      // WeChat allows 20 force_refresh calls a day, at least 30 s apart: never retried, never sooner.
      const wait = this.lastForcedAt + FORCE_REFRESH_INTERVAL_MS - Date.now();
      if (wait > 0) {
        return Promise.reject(new WeChatHttpError('stable_token', 'FORCE_REFRESH_TOO_SOON', `a forced refresh ran less than 30 s ago: try again in ${Math.ceil(wait / 1000)} s`));
      }
      this.lastForcedAt = Date.now();
    }
    const p = this.renew(force, Date.now()).then((record) => {
      this.cached = record;
      this.failures = 0;
      this.emit('token', this.publicInfo(record));
      this.schedule(record);
      return record;
    }, (err: Error) => {
      this.failures++;
      this.emit('token-error', err);
      this.scheduleRetry();
      throw err;
    }).finally(() => {
      if (this.inflight === p) this.inflight = undefined;
    });
    this.inflight = p;
    return p;
  }

  /**
   * Fetch and store a token. With a shared lock: one instance at a time, and the stored token is
   * read again under the lock — another instance may have renewed it meanwhile (then no request:
   * in classic mode every request would invalidate the token the other instances use).
   */
  private async renew(force: boolean, requestedAt: number): Promise<TokenRecord> {
    const fetchAndStore = async (): Promise<TokenRecord> => {
      const record = await this.fetchToken(force);
      await this.store.set(this.appId, record);
      return record;
    };
    if (!this.lock) return fetchAndStore();
    let handle;
    try {
      handle = await this.lock.acquire(`token-refresh:${this.appId}`, { ttlMs: 30000, waitMs: 30000, signal: this.stopping.signal });
    } catch (err) {
      // Redis cannot be reached: this instance renews on its own rather than not at all
      if (isStoreUnavailable(err)) return fetchAndStore();
      if (this.closed) throw new WeChatHttpError('token', 'CLOSED', 'stopped: the account was closed (redeploy)');
      throw err;
    }
    try {
      const current = await this.store.get(this.appId);
      // strictly later: a record refreshed in the very millisecond of the request may be the one it replaces
      if (current && (force ? current.refreshedAt > requestedAt : this.fresh(current))) return current;
      return await fetchAndStore();
    } finally {
      await handle.release();
    }
  }

  private async fetchToken(force: boolean): Promise<TokenRecord> {
    this.stats.tokenRequests++;
    const answer = this.mode === 'stable'
      ? await this.exchange('stable_token', 'POST', '/cgi-bin/stable_token', {}, { grant_type: 'client_credential', appid: this.appId, secret: this.secret, force_refresh: force }, true, force ? { ...this.retry, retries: 0 } : this.retry)
      : await this.exchange('token', 'GET', '/cgi-bin/token', { grant_type: 'client_credential', appid: this.appId, secret: this.secret }, undefined, true);
    const token = typeof answer.access_token === 'string' ? answer.access_token : '';
    const expiresIn = Number(answer.expires_in);
    if (!token || !Number.isFinite(expiresIn) || expiresIn <= 0) {
      throw new WeChatHttpError(this.mode === 'stable' ? 'stable_token' : 'token', 'BAD_TOKEN', 'the answer has no access_token/expires_in');
    }
    const now = Date.now();
    return { token, expiresIn, expiresAt: now + expiresIn * 1000, refreshedAt: now, mode: this.mode };
  }

  /** Drop the stored token if it is still `token` (a token error on a call that used it). */
  async invalidate(token: string): Promise<boolean> {
    if (this.cached?.token === token) this.cached = undefined;
    return this.store.delete(this.appId, token);
  }

  /** The token's public info (no token), or undefined when none is stored. */
  async info(): Promise<TokenInfo | undefined> {
    const record = await this.store.get(this.appId);
    return record ? this.publicInfo(record) : undefined;
  }

  private publicInfo(r: TokenRecord): TokenInfo {
    return { expiresAt: r.expiresAt, expiresIn: Math.max(0, Math.round((r.expiresAt - Date.now()) / 1000)), mode: r.mode, refreshedAt: r.refreshedAt };
  }

  // ---- calls --------------------------------------------------------------------------------

  /**
   * POST an authorised API. On 40001/40014/42001 the token that failed is dropped (only if still
   * stored), a new one fetched (single-flight) and the call retried once — never more.
   */
  async call(api: string, path: string, body: unknown): Promise<Record<string, unknown>> {
    this.stats.calls++;
    return this.withToken((token) => this.exchange(api, 'POST', path, { access_token: token }, body, false));
  }

  /** Run `request` with the token; a token error: the token dropped, a fresh one, one retry. The token never in an error. */
  private async withToken<T>(request: (token: string) => Promise<T>): Promise<T> {
    const token = await this.getToken();
    try {
      return await request(token);
    } catch (err) {
      if (!(err instanceof WeChatApiError) || !TOKEN_ERRORS.has(err.errcode)) throw this.scrub(err, token);
      this.stats.tokenRetries++;
      await this.invalidate(token);
      const fresh = await this.getToken();
      try {
        return await request(fresh);
      } catch (again) {
        throw this.scrub(again, fresh);
      }
    }
  }

  /**
   * Temporary media a follower sent (media/get; lib/wechat/media.ts reads the answer): the bytes,
   * dropped past `maxBytes` (MediaTooBigError); a video through its video_url. Fails with
   * WeChatApiError (40007: gone, see `mediaGone`) or WeChatHttpError; a token error as `call`.
   */
  getMedia(mediaId: string, opts: { maxBytes: number }): Promise<MediaFile> {
    this.stats.calls++;
    // Busy (-1) and a connection never made are tried again, as for every other API; a stalled or
    // cut body is not (as a send that may have arrived): the follower's turn waits for it only once.
    return this.withToken((token) => this.retrying('media/get', async () => {
      const answer = await this.mediaRequest('/cgi-bin/media/get', { access_token: token, media_id: mediaId }, mediaId, opts.maxBytes);
      if (!('json' in answer)) return answer;
      const errcode = answer.json.errcode === undefined ? 0 : Number(answer.json.errcode);
      if (errcode !== 0) throw new WeChatApiError('media/get', errcode, this.redact(String(answer.json.errmsg ?? '')));
      const videoUrl = typeof answer.json.video_url === 'string' ? answer.json.video_url : '';
      if (!videoUrl) throw new WeChatHttpError('media/get', 'BAD_JSON', 'the answer has neither media nor a video_url');
      const video = await this.mediaRequest(videoUrl, undefined, mediaId, opts.maxBytes);
      if ('json' in video) throw new WeChatHttpError('media/get', 'BAD_JSON', 'the video_url answered JSON, not a video');
      return { ...video, name: video.name.includes('.') ? video.name : `${mediaId.slice(0, 60)}.mp4` };
    }, false));
  }

  private async mediaRequest(url: string, params: Record<string, string> | undefined, mediaId: string, maxBytes: number): Promise<MediaFile | { json: Record<string, unknown> }> {
    let res;
    try {
      res = await this.http.request<Readable>({ method: 'GET', url, params, responseType: 'stream' });
    } catch (err) {
      throw this.toHttpError('media/get', err);
    }
    // the request's timeout ends with the headers: the body gets the same time between its chunks
    return readMedia(res as unknown as { status: number; headers: Record<string, unknown>; data: Readable }, mediaId, maxBytes, this.http.defaults.timeout || 10000);
  }

  private scrub(err: unknown, token: string): unknown {
    if (err instanceof Error && token && err.message.includes(token)) err.message = err.message.split(token).join('***');
    return err;
  }

  sendCustom(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    return this.call('message/custom/send', '/cgi-bin/message/custom/send', body);
  }

  sendTemplate(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    return this.call('message/template/send', '/cgi-bin/message/template/send', body);
  }

  /** Subscription notice (订阅通知) to a follower who accepted the template. */
  sendSubscribe(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    return this.call('message/subscribe/bizsend', '/cgi-bin/message/subscribe/bizsend', body);
  }

  // ---- auto refresh (one timer per account, however many token-refresh nodes) ----------------

  /** Keep the token fresh on a timer while at least one owner wants it. Starts with a refresh if needed. */
  startAutoRefresh(owner: string, refreshAheadS?: number): void {
    this.owners.set(owner, refreshAheadS !== undefined && Number.isFinite(refreshAheadS) && refreshAheadS >= 0 ? refreshAheadS * 1000 : this.refreshAheadMs);
    if (this.owners.size === 1) {
      void this.store.get(this.appId).catch(() => undefined).then((record) => {
        if (this.owners.size === 0 || this.closed) return;
        if (this.fresh(record)) {
          this.cached = record;
          this.schedule(record);
          this.emit('token', this.publicInfo(record));
        } else {
          this.refresh().catch(() => undefined);
        }
      });
    }
  }

  stopAutoRefresh(owner: string): void {
    this.owners.delete(owner);
    if (this.owners.size === 0) this.clearTimer();
  }

  private schedule(record: TokenRecord): void {
    this.clearTimer();
    if (this.owners.size === 0 || this.closed) return;
    const due = Math.max(1000, record.expiresAt - this.aheadFor(record) - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.refresh().catch(() => undefined);
    }, Math.min(due, 2 ** 31 - 1));
  }

  private scheduleRetry(): void {
    this.clearTimer();
    if (this.owners.size === 0 || this.closed) return;
    const delay = backoffDelay(this.failures, 5000, 300000);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.refresh().catch(() => undefined);
    }, delay);
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  close(): void {
    this.closed = true;
    this.owners.clear();
    this.clearTimer();
    this.stopping.abort();
    this.removeAllListeners();
  }
}
