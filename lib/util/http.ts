/**
 * The one HTTP layer the protocol clients share (lib/c4c/client.ts and lib/wechat/api.ts):
 * which network errors mean "the request surely never left" and which "it may have been
 * processed", one axios set-up (text bodies, no status or redirect magic), Retry-After, and the
 * retry loop with backoff that a close (AbortSignal) ends at once. Protocol rules (C4C's CSRF
 * session, WeChat's errcode -1 "busy") stay in the clients: they tell the loop what to retry.
 */
import type { Agent as HttpsAgent } from 'node:https';
import axios, { type AxiosInstance } from 'axios';
import { backoffDelay, sleep } from './backoff';

/**
 * Errors raised before a single byte of the request can have reached the server: a modifying
 * request may be sent again without any risk of doing it twice.
 */
export const NOT_SENT_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ERR_SOCKET_CONNECTION_TIMEOUT',
  'CERT_HAS_EXPIRED', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'ERR_TLS_CERT_ALTNAME_INVALID', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'ERR_INVALID_URL',
]);

/**
 * Errors after the request may have been sent: the server may have processed it (a create may
 * exist). Reads can be repeated; a create must be checked (looked up) before it is sent again.
 */
export const MAYBE_SENT_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET', 'ETIMEDOUT', 'ECONNABORTED', 'EPIPE', 'ERR_BAD_RESPONSE', 'ERR_STREAM_PREMATURE_CLOSE', 'EPROTO', 'ENETWORK',
]);

/** Network codes worth another attempt (both kinds above, TLS trust problems excepted). */
export function isTransientNetworkCode(code: string): boolean {
  return MAYBE_SENT_CODES.has(code) || (NOT_SENT_CODES.has(code) && !/CERT|SELF_SIGNED|VERIFY|INVALID_URL/.test(code));
}

/**
 * May a request that failed with this network code be sent again? One that never left (refused,
 * DNS) always; one that may have been processed (reset, timeout) only when repeating it does no
 * harm (`idempotent`); a TLS trust problem or a bad URL never (it will not heal by itself).
 */
export function mayRepeat(code: string, idempotent: boolean): boolean {
  return isTransientNetworkCode(code) && (idempotent || sendState(code) === 'not-sent');
}

/** The code of a failed request (a Node/axios network code), `ENETWORK` when it carries none. */
export function networkErrorCode(err: unknown): string {
  const code = err && typeof err === 'object' ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : 'ENETWORK';
}

/** 'not-sent': safe to repeat anything; 'maybe-sent': the outcome of a change is unknown. */
export function sendState(code: string | undefined): 'not-sent' | 'maybe-sent' {
  return code && NOT_SENT_CODES.has(code) ? 'not-sent' : 'maybe-sent';
}

/** HTTP statuses worth another attempt. 502/504 may come after the backend processed a change. */
export const TRANSIENT_STATUS: ReadonlySet<number> = new Set([429, 502, 503, 504]);
export const AMBIGUOUS_STATUS: ReadonlySet<number> = new Set([502, 504]);

export interface HttpOptions {
  baseURL: string;
  timeoutMs: number;
  /** a TLS client certificate, extra CAs, keep-alive: an https.Agent */
  httpsAgent?: HttpsAgent;
  /** headers every request carries (e.g. WeChat's JSON Content-Type) */
  headers?: Record<string, string>;
}

/**
 * An axios instance for protocol clients: bodies as text (the caller parses and checks the
 * content type; WeChat's 64-bit msgid must reach parseJsonExact as text), every status resolved
 * (the caller decides), redirects never followed (a redirect of an API call is a configuration
 * error to report, not to follow with credentials or an access_token).
 * Proxies: axios reads HTTPS_PROXY / HTTP_PROXY / NO_PROXY from the environment.
 */
export function createHttp(opts: HttpOptions): AxiosInstance {
  return axios.create({
    baseURL: String(opts.baseURL || '').replace(/\/+$/, ''),
    timeout: opts.timeoutMs,
    responseType: 'text',
    transformResponse: [(d: unknown) => d],
    validateStatus: () => true,
    maxRedirects: 0,
    httpsAgent: opts.httpsAgent,
    ...(opts.headers ? { headers: opts.headers } : {}),
  });
}

/** Retry-After as milliseconds (seconds or an HTTP date), undefined when absent or unreadable. */
export function retryAfterMs(header: string | undefined, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const h = String(header).trim();
  if (/^\d+$/.test(h)) return Number(h) * 1000;
  const date = Date.parse(h);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

export interface RetryPolicy {
  /** further attempts after the first */
  retries: number;
  baseMs: number;
  maxMs: number;
  /** a Retry-After longer than this is capped (default 120000) */
  maxRetryAfterMs?: number;
  /** aborted on close: a pause ends at once and the loop stops */
  signal?: AbortSignal;
}

export interface RetryDecision {
  retry: boolean;
  /** the server asked to wait at least this long */
  retryAfterMs?: number;
}

/**
 * Run `task` until it succeeds, `decide` says not to retry, the retries are used up or the signal
 * is aborted. The pause is exponential backoff with jitter, at least what Retry-After asked for.
 * `onRetry` counts; `stopped` makes the error thrown when the signal ends a pause.
 */
export async function withRetries<T>(
  task: (attempt: number) => Promise<T>,
  decide: (err: unknown, attempt: number) => RetryDecision,
  policy: RetryPolicy,
  hooks: { onRetry?: (err: unknown, attempt: number, waitMs: number) => void; stopped?: () => Error } = {},
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await task(attempt);
    } catch (err) {
      const d = decide(err, attempt);
      if (!d.retry || attempt >= policy.retries || policy.signal?.aborted) throw err;
      const wait = Math.max(backoffDelay(attempt, policy.baseMs, policy.maxMs), Math.min(d.retryAfterMs ?? 0, policy.maxRetryAfterMs ?? 120000));
      hooks.onRetry?.(err, attempt, wait);
      await sleep(wait, policy.signal);
      if (policy.signal?.aborted) throw hooks.stopped ? hooks.stopped() : err;
    }
  }
}
