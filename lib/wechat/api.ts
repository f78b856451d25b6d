import { EventEmitter } from 'node:events';
import axios, { type AxiosInstance } from 'axios';
import { backoffDelay, sleep } from '../util/backoff';
import { parseJsonExact } from '../util/json';
import { redact } from '../util/redact';
import type { Locks } from '../store/types';

export type TokenMode = 'stable' | 'classic';

/** WeChat answered with a non-zero errcode. `code` is the errcode, so a Catch node can switch on it. */
export class WeChatApiError extends Error {
  readonly code: number;
  readonly errcode: number;
  readonly errmsg: string;
  readonly hint: string | undefined;
  readonly api: string;
  constructor(api: string, errcode: number, errmsg: string) {
    const hint = hintFor(errcode, errmsg);
    super(`WeChat ${api} failed: ${errcode} ${errmsg}${hint ? ` (${hint})` : ''}`);
    this.name = 'WeChatApiError';
    this.code = errcode;
    this.errcode = errcode;
    this.errmsg = errmsg;
    this.hint = hint;
    this.api = api;
  }
}

/** The HTTP exchange itself failed (network, timeout, non-200). No URL, header or body inside. */
export class WeChatHttpError extends Error {
  readonly code: string;
  readonly statusCode: number | undefined;
  constructor(api: string, code: string, detail: string, statusCode?: number) {
    super(`WeChat ${api} failed: ${detail}`);
    this.name = 'WeChatHttpError';
    this.code = code;
    this.statusCode = statusCode;
  }
}

export const TOKEN_ERRORS = new Set([40001, 40014, 42001]);
/** stable_token force_refresh: at most one every 30 s (WeChat's rule), never retried automatically. */
export const FORCE_REFRESH_INTERVAL_MS = 30000;
// Connection never made: the request cannot have reached WeChat, so any call may be retried.
const CONNECT_ERRORS = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** A hint for the errcodes integrators hit most, in the words of the fix. */
export function hintFor(errcode: number, errmsg = ''): string | undefined {
  switch (errcode) {
    case 40164:
    case 61004: {
      const ip = /(?:invalid ip|ip)\s+([0-9a-fA-F.:]+)/.exec(errmsg)?.[1];
      return `add the caller IP ${ip ?? '(see errmsg)'} to the IP whitelist (基本配置 → IP白名单)`;
    }
    case 89503:
      return 'an account administrator must confirm this IP in the WeChat admin console';
    case 40125:
      return 'the AppSecret is wrong (reset it in 基本配置 and update wechat-config)';
    case 40013:
      return 'the AppID is wrong';
    case 45015:
      return 'outside the customer-service window: the follower must interact again (or use a template message)';
    case 45047:
      return 'customer-service quota for this follower used up (3 within 1 minute after a follow, 5 within 48 h after a message)';
    case 45009:
      return 'daily API quota used up; it resets at midnight (Beijing time) or can be cleared in the admin console';
    case 43004:
      return 'the recipient does not follow the account';
    case 40037:
      return 'the template ID is wrong or the template was deleted (模板消息 / 订阅通知 → 我的模板)';
    case 47003:
      return 'the template data does not fit the template (a key or a value breaks its type\'s rules)';
    case 43101:
      return 'the follower has not accepted this subscription notice';
    case 40003:
      return 'the OpenID does not belong to this account';
    case 48001:
      return 'the account is not authorised for this API (unverified account?)';
    case -1:
      return 'WeChat is busy; retry later';
    default:
      return undefined;
  }
}

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

/** Where tokens live. In memory by default; a shared store (Redis) can implement the same. */
export interface TokenStore {
  get(appId: string): Promise<TokenRecord | undefined>;
  set(appId: string, record: TokenRecord): Promise<void>;
  /** Delete only if the stored token is still `ifToken` (another caller may have refreshed it). */
  delete(appId: string, ifToken: string): Promise<boolean>;
}

export class MemoryTokenStore implements TokenStore {
  private readonly map = new Map<string, TokenRecord>();
  async get(appId: string): Promise<TokenRecord | undefined> {
    return this.map.get(appId);
  }
  async set(appId: string, record: TokenRecord): Promise<void> {
    this.map.set(appId, record);
  }
  async delete(appId: string, ifToken: string): Promise<boolean> {
    const current = this.map.get(appId);
    if (!current || current.token !== ifToken) return false;
    this.map.delete(appId);
    return true;
  }
}

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
  retries?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
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
  private readonly retries: number;
  private readonly backoffBaseMs: number;
  private readonly backoffMaxMs: number;
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
    this.store = opts.store ?? new MemoryTokenStore();
    this.lock = opts.lock;
    this.refreshAheadMs = Math.max(0, (opts.refreshAhead ?? 300) * 1000);
    this.retries = opts.retries ?? 3;
    this.backoffBaseMs = opts.backoffBaseMs ?? 200;
    this.backoffMaxMs = opts.backoffMaxMs ?? 5000;
    this.secrets = [opts.secret, ...(opts.secrets ?? [])].filter((s): s is string => !!s);
    this.http = axios.create({
      baseURL: String(opts.apiBase || 'https://api.weixin.qq.com').replace(/\/+$/, ''),
      timeout: opts.timeoutMs ?? 10000,
      responseType: 'text',
      transformResponse: [(data: unknown) => data], // parsed by parseJsonExact: 64-bit ids stay exact
      validateStatus: () => true,
      maxRedirects: 0,
      headers: { 'Content-Type': 'application/json; charset=utf-8' },
    });
    this.setMaxListeners(100);
  }

  /** Scrub secrets and the current token from a text. */
  redact(text: unknown, extra: string[] = []): string {
    return redact(text, [...this.secrets, ...extra]);
  }

  // ---- HTTP ---------------------------------------------------------------------------------

  private async exchange(api: string, method: 'GET' | 'POST', path: string, params: Record<string, string>, body: unknown, idempotent: boolean, retries = this.retries): Promise<RawAnswer> {
    for (let attempt = 0; ; attempt++) {
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
        const e = this.toHttpError(api, err);
        const retryable = CONNECT_ERRORS.has(e.code) || (idempotent && (e.code === 'ECONNRESET' || e.code === 'ETIMEDOUT' || e.code === 'ECONNABORTED' || /^HTTP_5/.test(e.code)));
        if (retryable && attempt < retries && !this.closed) {
          await this.pause(api, attempt);
          continue;
        }
        throw e;
      }
      const errcode = answer && answer.errcode !== undefined ? Number(answer.errcode) : 0;
      if (errcode === -1 && attempt < retries && !this.closed) {
        this.stats.busyRetries++;
        await this.pause(api, attempt);
        continue;
      }
      if (errcode !== 0) throw new WeChatApiError(api, errcode, this.redact(answer.errmsg ?? ''));
      return answer;
    }
  }

  private async pause(api: string, attempt: number): Promise<void> {
    await sleep(backoffDelay(attempt, this.backoffBaseMs, this.backoffMaxMs), this.stopping.signal);
    if (this.closed) throw new WeChatHttpError(api, 'CLOSED', 'stopped: the account was closed (redeploy)');
  }

  private toHttpError(api: string, err: unknown): WeChatHttpError {
    if (err instanceof WeChatHttpError) return err;
    const e = err as { code?: string; message?: string };
    const code = e && typeof e.code === 'string' ? e.code : 'ENETWORK';
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
      if ((err as { code?: string }).code === 'STORE_UNAVAILABLE') return fetchAndStore();
      if (this.closed) throw new WeChatHttpError('token', 'CLOSED', 'stopped: the account was closed (redeploy)');
      throw err;
    }
    try {
      const current = await this.store.get(this.appId);
      if (current && (force ? current.refreshedAt >= requestedAt : this.fresh(current))) return current;
      return await fetchAndStore();
    } finally {
      await handle.release();
    }
  }

  private async fetchToken(force: boolean): Promise<TokenRecord> {
    this.stats.tokenRequests++;
    const answer = this.mode === 'stable'
      ? await this.exchange('stable_token', 'POST', '/cgi-bin/stable_token', {}, { grant_type: 'client_credential', appid: this.appId, secret: this.secret, force_refresh: force }, true, force ? 0 : this.retries)
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
    const token = await this.getToken();
    try {
      return await this.exchange(api, 'POST', path, { access_token: token }, body, false);
    } catch (err) {
      if (!(err instanceof WeChatApiError) || !TOKEN_ERRORS.has(err.errcode)) throw this.scrub(err, token);
      this.stats.tokenRetries++;
      await this.invalidate(token);
      const fresh = await this.getToken();
      try {
        return await this.exchange(api, 'POST', path, { access_token: fresh }, body, false);
      } catch (again) {
        throw this.scrub(again, fresh);
      }
    }
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

  get autoRefreshOwners(): number {
    return this.owners.size;
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
