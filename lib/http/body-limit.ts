import type { IncomingMessage, ServerResponse } from 'node:http';
import { checkQueryShape } from '../wechat/inbound';

export interface BodyLimitOptions {
  /** Largest body accepted on a WeChat route, in bytes (default 256 KiB, as wechat-in). */
  limit?: number;
  /**
   * Which routes are WeChat routes: the `http in` node's URL (a path, a RegExp, or a list; default
   * '/wechat'). Matched against the route Express chose, so `/WECHAT` or `/wechat/` routed to the
   * `/wechat` node is a WeChat route too; as middleware outside a route, against the request path,
   * case-insensitively unless the app routes case-sensitively.
   */
  paths?: string | RegExp | (string | RegExp)[];
  /**
   * Seconds: a POST whose `timestamp` is further than this from the server clock is refused before
   * its body is read (default 300, WeChat's usual window; 0 = not checked here). The query's shape
   * (repeated parameters, no timestamp, nonce or signature) is always checked first.
   */
  replayWindow?: number;
  /** How long reading one body may take, in ms (default 10,000; WeChat sends a few KB at once): slower is 408. */
  bodyTimeoutMs?: number;
  /** Bytes all the bodies being read may hold at once (default 64 MiB): past it a new body is refused with 503. */
  maxBufferedBytes?: number;
}

/** The liveness probe's path (nodes/shared/health.ts): no body is read on it either. */
export const HEALTH_PATH = '/wechat-c4c/health';

/** The arrival time (ms since the epoch) stamped on every request; wechat-in's ack deadline counts from it. */
export const ARRIVED_AT = 'wechatArrivedAt';
/** Stamped (the limit in bytes) on a request whose body this middleware bounded: wechat-in warns when it is missing. */
export const BODY_LIMITED = 'wechatBodyLimit';

/** A request this middleware refused or lost: counted in wechat-in's throttled rejection log. */
export interface BodyLimitRejection {
  status: number;
  code: string;
  reason: string;
}
type Listener = (r: BodyLimitRejection) => void;

/**
 * The listeners live on a process-wide registry: settings.js may load this module through another
 * path than the nodes do. The first listener (one wechat-in node) logs; the others stay quiet.
 */
const REGISTRY = Symbol.for('node-red-contrib-wechat-c4c.body-limit.listeners');
function listeners(): Set<Listener> {
  const g = globalThis as unknown as Record<symbol, Set<Listener> | undefined>;
  return (g[REGISTRY] ??= new Set<Listener>());
}
/** Hear about refused and aborted uploads (only the first registered listener is called). Returns the unsubscribe. */
export function onBodyLimitRejection(listener: Listener): () => void {
  listeners().add(listener);
  return () => { listeners().delete(listener); };
}
function report(r: BodyLimitRejection): void {
  const first = listeners().values().next().value;
  if (first) {
    try { first(r); } catch { /* a listener's failure is not the request's */ }
  }
}

type Req = IncomingMessage & {
  body?: unknown; _body?: boolean; path?: string; originalUrl?: string; baseUrl?: string; query?: unknown;
  route?: { path?: unknown }; app?: { get?: (name: string) => unknown };
  [ARRIVED_AT]?: number; [BODY_LIMITED]?: number;
};

function refuse(req: Req, res: ServerResponse, r: BodyLimitRejection): void {
  report(r);
  if (res.headersSent) return;
  res.statusCode = r.status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(r.reason));
  res.setHeader('Connection', 'close');
  res.end(r.reason);
  // Nothing more is read: the connection goes once the answer is out.
  res.once('finish', () => req.socket.destroy());
}

/**
 * The path of a request target as Express routes it (parseurl): the query and a fragment cut off,
 * the scheme and host of an absolute-form target (`POST http://host/wechat`) dropped.
 */
export function pathOf(url: string): string {
  let end = url.length;
  for (const c of ['?', '#']) {
    const i = url.indexOf(c);
    if (i >= 0 && i < end) end = i;
  }
  const target = url.slice(0, end);
  const absolute = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/]*/.exec(target);
  return (absolute ? target.slice(absolute[0].length) : target) || '/';
}

/**
 * The query as Express gives it, or parsed here as Express's parser would see it: a repeated name,
 * or a name with brackets (`encrypt_type[]`), becomes an array.
 */
function queryOf(req: Req, url: string): Record<string, unknown> {
  if (req.query && typeof req.query === 'object') return req.query as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const i = url.indexOf('?');
  if (i < 0) return out;
  for (const [name, v] of new URLSearchParams(url.slice(i + 1))) {
    const bracket = name.indexOf('[');
    const k = bracket > 0 ? name.slice(0, bracket) : name;
    const prev = bracket > 0 ? [] : out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

/**
 * Express middleware for Node-RED's `httpNodeMiddleware` setting, for the WeChat webhook routes.
 * On such a route a POST (PUT, PATCH) is refused before a byte of its body is read when its query
 * cannot be WeChat's (repeated parameters, no timestamp/nonce/signature, a timestamp outside
 * `replayWindow`) or its Content-Length is over `limit` (413); otherwise the middleware reads the
 * body itself (chunked too), stopping at the limit, and hands it on as `req.body` (a Buffer,
 * `req._body = true`, so Node-RED's JSON, form and raw parsers leave it alone). An aborted upload
 * is dropped quietly (no error reaches Express, whose final handler would print a stack), and
 * every refusal is reported to wechat-in's throttled rejection log. Every request is stamped with
 * its arrival time (`req.wechatArrivedAt`).
 *
 * Install it as both `httpAdminMiddleware` and `httpNodeMiddleware`: with the editor at `/` (the
 * default httpAdminRoot) the editor's app sees every request first and parses JSON and form bodies
 * up to `apiMaxLength` (5 MB) on any path, /wechat included — an invalid one answered with
 * Express's error page — unless this middleware has read the body before it. Node-RED 4.1 also
 * reads the whole body of an `http in` node with "Do not parse body" before any middleware runs:
 * the WeChat routes' `http in` nodes must leave that option off (the bundled flow does; wechat-in
 * warns at deploy otherwise).
 */
export function bodyLimit(opts: BodyLimitOptions = {}): (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void {
  const limit = opts.limit ?? 256 * 1024;
  const windowSeconds = opts.replayWindow ?? 300;
  const bodyTimeoutMs = opts.bodyTimeoutMs ?? 10000;
  const maxBuffered = opts.maxBufferedBytes ?? 64 * 2 ** 20;
  /** bytes the bodies being read hold now (their buffers' capacity) */
  let buffered = 0;
  const rules = (Array.isArray(opts.paths) ? opts.paths : [opts.paths ?? '/wechat']);
  const trim = (p: string): string => (p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p);
  const matches = (path: string, caseSensitive: boolean): boolean => {
    const p = caseSensitive ? trim(path) : trim(path).toLowerCase();
    return rules.some((r) => {
      if (typeof r !== 'string') return r.test(path);
      const rule = caseSensitive ? trim(r) : trim(r).toLowerCase();
      return p === rule || p.startsWith(`${rule}/`);
    });
  };
  const isWeChatRoute = (req: Req, url: string): boolean => {
    const caseSensitive = !!req.app?.get?.('case sensitive routing');
    const route = req.route && typeof req.route.path === 'string' ? req.route.path : undefined;
    // As a route's middleware (httpNodeMiddleware): the route Express chose, with or without httpNodeRoot.
    if (route !== undefined) return matches(route, caseSensitive) || matches(`${req.baseUrl || ''}${route}`, caseSensitive);
    return matches(pathOf(url), caseSensitive);
  };
  const hasBody = (req: Req): boolean => req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] || 0) > 0;
  return (request, res, next) => {
    const req = request as Req;
    // Installed as httpAdminMiddleware and httpNodeMiddleware, it runs twice on a request: the
    // first pass stamps and reads, the second finds `_body` and passes.
    if (req[ARRIVED_AT] === undefined) req[ARRIVED_AT] = Date.now();
    const method = req.method || '';
    if (req._body) return next();
    const url = req.originalUrl || req.url || '/';
    const wechat = isWeChatRoute(req, url);
    if (method !== 'POST' && method !== 'PUT' && method !== 'PATCH') {
      // GET, HEAD, DELETE, OPTIONS carry no body on these routes: one is refused unread (else the
      // editor's JSON and form parsers would read it, and answer a broken one with a stack page).
      if ((wechat || pathOf(url) === HEALTH_PATH) && hasBody(req)) return refuse(req, res, { status: 400, code: 'body-not-allowed', reason: `no body with ${method}` });
      return next();
    }
    if (!wechat) return next();
    const shape = checkQueryShape(queryOf(req, url), windowSeconds, Date.now());
    if (shape) return refuse(req, res, shape);
    const declared = req.headers['content-length'];
    const tooLarge: BodyLimitRejection = { status: 413, code: 'too-large', reason: `body larger than ${limit} bytes` };
    if (declared !== undefined && Number(declared) > limit) return refuse(req, res, tooLarge);
    req[BODY_LIMITED] = limit;
    // The body goes into one buffer that grows to at most `limit` (a chunk is copied and let go:
    // a body of a million 1-byte chunks must not be a million Buffer objects); all the buffers
    // together stay within `maxBuffered`, and a body not read within `bodyTimeoutMs` is refused.
    let body = Buffer.alloc(0);
    let size = 0;
    let done = false;
    const grow = (needed: number): boolean => {
      // by what has arrived, not by what Content-Length promises: a stalled client holds 16 KB, not the limit
      const capacity = Math.min(limit, Math.max(needed, body.length * 2, 16 * 1024));
      if (buffered + capacity - body.length > maxBuffered) return false;
      const next = Buffer.allocUnsafe(capacity);
      body.copy(next, 0, 0, size);
      buffered += capacity - body.length;
      body = next;
      return true;
    };
    const timer = setTimeout(() => {
      if (done) return;
      stop();
      req.on('error', () => undefined);
      req.pause();
      refuse(req, res, { status: 408, code: 'slow-body', reason: `body not read within ${bodyTimeoutMs} ms` });
    }, bodyTimeoutMs);
    const stop = (): void => {
      done = true;
      clearTimeout(timer);
      buffered -= body.length;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('aborted', onAborted);
      req.off('error', onAborted);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      if (size + chunk.length > limit || (size + chunk.length > body.length && !grow(size + chunk.length))) {
        const busy = size + chunk.length <= limit;
        stop();
        req.on('error', () => undefined); // the socket goes; nothing more to hear
        req.pause();
        refuse(req, res, busy ? { status: 503, code: 'busy', reason: 'too many bodies being read at once' } : tooLarge);
        return;
      }
      chunk.copy(body, size);
      size += chunk.length;
    };
    const onEnd = (): void => {
      if (done) return;
      const read = Buffer.from(body.subarray(0, size)); // exactly the body; the big buffer goes
      stop();
      req.body = read;
      req._body = true;
      next();
    };
    // The client went away (or sent a broken chunked body) before the end: nothing to answer, no
    // error for Express's final handler to print, one count in the rejection log.
    const onAborted = (): void => {
      if (done) return;
      stop();
      req.on('error', () => undefined);
      report({ status: 400, code: 'aborted', reason: 'upload aborted before its end' });
      req.socket.destroy();
    };
    const onClose = (): void => { if (!req.complete) onAborted(); };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('aborted', onAborted);
    req.on('error', onAborted);
    req.on('close', onClose);
  };
}
