import type { ServerResponse } from 'node:http';
import type { SealedReply } from '../../lib/store/types';
import type { NodeMessage } from './types';

/** The raw response behind `msg.res` (set by an `http in` node), if any. */
export function rawResponse(msg: NodeMessage): ServerResponse | undefined {
  const res = msg && msg.res && msg.res._res;
  return res && typeof res.end === 'function' && typeof res.setHeader === 'function' ? (res as ServerResponse) : undefined;
}

/**
 * True once something has started answering the request (or the client went away). `end()`
 * always sends the head first, so `headersSent` covers `writableEnded` too.
 */
export function answered(res: ServerResponse): boolean {
  return res.headersSent || res.destroyed;
}

/** Answer a webhook request directly (GET check, rejections, retries, the ack timeout). */
export function answer(res: ServerResponse, reply: SealedReply): boolean {
  if (answered(res)) return false;
  res.statusCode = reply.statusCode;
  res.setHeader('Content-Type', reply.contentType);
  res.setHeader('Content-Length', Buffer.byteLength(reply.body, 'utf8'));
  res.end(reply.body);
  return true;
}
