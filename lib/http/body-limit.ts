import type { IncomingMessage, ServerResponse } from 'node:http';

export interface BodyLimitOptions {
  /** Largest body accepted on a WeChat route, in bytes (default 256 KiB, as wechat-in). */
  limit?: number;
  /** Which request paths are WeChat routes: a path prefix, a RegExp, or a list (default '/wechat'). */
  paths?: string | RegExp | (string | RegExp)[];
}

/** The arrival time (ms since the epoch) stamped on every request; wechat-in's ack deadline counts from it. */
export const ARRIVED_AT = 'wechatArrivedAt';

type Req = IncomingMessage & { body?: unknown; _body?: boolean; path?: string; originalUrl?: string; [ARRIVED_AT]?: number };

function refuse(req: Req, res: ServerResponse, limit: number): void {
  if (res.headersSent) return;
  const body = `body larger than ${limit} bytes`;
  res.statusCode = 413;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.setHeader('Connection', 'close');
  res.end(body);
  // Nothing more is read: the connection goes once the answer is out.
  res.once('finish', () => req.socket.destroy());
}

/**
 * Express middleware for Node-RED's `httpNodeMiddleware` setting. On a WeChat route (POST/PUT/PATCH)
 * it refuses a body over `limit` by its Content-Length before reading a byte (413), and reads a
 * chunked body itself, stopping at the limit; the body it read is handed on as `req.body` (a
 * Buffer, `req._body = true`, so the `http in` body parser leaves it alone). Every request is
 * stamped with its arrival time (`req.wechatArrivedAt`).
 */
export function bodyLimit(opts: BodyLimitOptions = {}): (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void {
  const limit = opts.limit ?? 256 * 1024;
  const rules = (Array.isArray(opts.paths) ? opts.paths : [opts.paths ?? '/wechat']);
  const matches = (path: string): boolean => rules.some((r) => (typeof r === 'string' ? path === r || path.startsWith(r.endsWith('/') ? r : `${r}/`) || path.startsWith(`${r}?`) : r.test(path)));
  return (request, res, next) => {
    const req = request as Req;
    req[ARRIVED_AT] = Date.now();
    const method = req.method || '';
    if ((method !== 'POST' && method !== 'PUT' && method !== 'PATCH') || req._body) return next();
    const url = req.originalUrl || req.url || '/';
    const path = url.split('?')[0];
    if (!matches(path)) return next();
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > limit) return refuse(req, res, limit);
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (err?: unknown): void => {
      if (done) return;
      done = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', finish);
      if (err) return next(err);
      req.body = Buffer.concat(chunks, size);
      req._body = true;
      next();
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        done = true;
        chunks.length = 0;
        req.off('data', onData);
        req.pause();
        refuse(req, res, limit);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => finish();
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', finish);
  };
}
