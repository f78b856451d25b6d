import { codeOf, WeChatC4CError } from '../errors';
import { WeChatApiError } from './errors';
import { templateData } from './template';
/** Building the body of a customer-service or template message from node settings and msg. */
export const PUSH_TYPES = ['text', 'image', 'news', 'mpnews', 'template', 'raw'] as const;
export type PushType = (typeof PUSH_TYPES)[number];

export class PushError extends WeChatC4CError {
  constructor(message: string) {
    super('PUSH_INPUT', message);
    this.name = 'PushError';
  }
}

export interface PushRequest {
  api: 'custom' | 'template';
  body: Record<string, unknown>;
  /** what WeChat ignores and was left out of the body (`first`, `remark`, `thing1.color`, `topcolor`) */
  dropped?: string[];
}

/** Top-level template message fields WeChat ignores since 2023-05-04 (colours). */
const IGNORED_TOP = ['topcolor', 'color'];

function isObject(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v);
}

/**
 * `content` is the evaluated content property (default msg.payload). `touser` the evaluated
 * recipient. Returns the API and JSON body. Raw: `content` is the whole body; a body with a
 * `template_id` goes to the template API, any other to custom/send.
 */
export function buildPush(type: PushType, touser: string, content: unknown, templateId?: string): PushRequest {
  if (type === 'raw') {
    if (!isObject(content)) throw new PushError('raw: msg.payload must be the whole API body (an object)');
    const body = { ...content };
    if (!body.touser && touser) body.touser = touser;
    if (!body.touser) throw new PushError('no recipient: set touser in the body or in the node');
    return { api: typeof body.template_id === 'string' ? 'template' : 'custom', body };
  }
  if (!touser) throw new PushError('no recipient OpenID (touser)');
  switch (type) {
    case 'text': {
      const text = isObject(content) ? content.content ?? content.text : content;
      if (text === undefined || text === null || String(text) === '') throw new PushError('text: nothing to send (empty content)');
      return { api: 'custom', body: { touser, msgtype: 'text', text: { content: String(text) } } };
    }
    case 'image': {
      const mediaId = isObject(content) ? content.media_id ?? content.mediaId : content;
      if (!mediaId) throw new PushError('image: a media_id is needed');
      return { api: 'custom', body: { touser, msgtype: 'image', image: { media_id: String(mediaId) } } };
    }
    case 'news': {
      const list = Array.isArray(content) ? content : isObject(content) && Array.isArray(content.articles) ? content.articles : isObject(content) ? [content] : [];
      if (list.length === 0) throw new PushError('news: an article {title, description, url, picurl} is needed');
      if (list.length > 1) throw new PushError('news: WeChat sends exactly 1 article per customer-service news message');
      return { api: 'custom', body: { touser, msgtype: 'news', news: { articles: list } } };
    }
    case 'mpnews': {
      const mediaId = isObject(content) ? content.media_id ?? content.mediaId : content;
      if (!mediaId) throw new PushError('mpnews: a media_id is needed');
      return { api: 'custom', body: { touser, msgtype: 'mpnews', mpnews: { media_id: String(mediaId) } } };
    }
    case 'template': {
      const c = isObject(content) ? content : {};
      const id = templateId || (typeof c.template_id === 'string' ? c.template_id : '');
      if (!id) throw new PushError('template: a template ID is needed (node setting or payload.template_id)');
      const data = isObject(c.data) ? c.data : c;
      const dropped = IGNORED_TOP.filter((k) => k in c);
      const fields: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(data)) {
        if ([...IGNORED_TOP, 'template_id', 'url', 'miniprogram', 'touser', 'client_msg_id'].includes(k) && data === c) continue;
        fields[k] = v;
      }
      // WeChat's current rules (lib/wechat/template.ts): refused here, before any request.
      const body: Record<string, unknown> = { touser, template_id: id, data: templateData(fields, 'template', dropped) };
      if (typeof c.url === 'string') body.url = c.url;
      if (isObject(c.miniprogram)) body.miniprogram = c.miniprogram;
      if (typeof c.client_msg_id === 'string') body.client_msg_id = c.client_msg_id;
      return { api: 'template', body, dropped };
    }
    default:
      throw new PushError(`unknown message type ${String(type)}`);
  }
}

// ---- fallback when the customer-service window is gone ---------------------------------------

export const FALLBACKS = ['none', 'template', 'subscribe'] as const;
export type Fallback = (typeof FALLBACKS)[number];
export type PushChannel = 'custom' | 'template' | 'subscribe';

/** Customer-service errcodes after which the fallback is tried: outside the window, quota used. */
const FALLBACK_ERRCODES = new Set([45015, 45047]);

/** What `msg.wechatPush` says: the channel that delivered, and the 64-bit msgid (a string) if WeChat gave one. */
export interface PushOutcome {
  channel: PushChannel;
  msgid?: string;
  /** WeChat's answer of the send that delivered */
  answer: Record<string, unknown>;
  /** the customer-service code that caused the fallback (`"45015"`) */
  firstCode?: string;
}

export interface PushSender {
  sendCustom(body: Record<string, unknown>): Promise<Record<string, unknown>>;
  sendTemplate(body: Record<string, unknown>): Promise<Record<string, unknown>>;
  sendSubscribe(body: Record<string, unknown>): Promise<Record<string, unknown>>;
}

/**
 * The customer-service send failed with 45015/45047 and the fallback failed as well. `code` is the
 * fallback's code (its errcode as text, or its error code), `firstCode` the customer-service one,
 * `codes` both in order: `["45015", "43004"]`. The hint is the fallback's.
 */
export class FallbackError extends WeChatC4CError {
  readonly codes: string[];
  readonly firstCode: string;
  readonly channel: PushChannel;
  readonly cause: unknown;
  constructor(channel: PushChannel, first: WeChatApiError, second: Error & { code?: unknown }) {
    const code = codeOf(second);
    const hinted = second instanceof WeChatC4CError ? second : undefined;
    super(code, `customer-service message failed (${first.message}); the ${channel === 'template' ? 'template message' : 'subscription notice'} fallback failed too (${second.message})`, {
      errcode: hinted?.errcode, hintKey: hinted ? hinted.hintKey ?? null : code, hintVars: hinted?.hintVars, transient: hinted?.transient,
    });
    this.name = 'FallbackError';
    this.firstCode = first.code;
    this.codes = [first.code, code];
    this.channel = channel;
    this.cause = second;
  }
}

function msgidOf(answer: Record<string, unknown>): string | undefined {
  const id = answer.msgid ?? answer.msg_id;
  // parseJsonExact already gives ids as strings; never let a number through.
  return id === undefined || id === null || id === '' ? undefined : String(id);
}

/**
 * The body of a template message or subscription notice to `touser`: `data` checked against
 * WeChat's current rules (TemplateDataError before any request), `url` as the template's link
 * (`url`) or the notice's page (`page`).
 */
export function buildFallback(kind: 'template' | 'subscribe', touser: string, templateId: string, data: unknown, url?: string): PushRequest & { channel: PushChannel } {
  if (!touser) throw new PushError('no recipient OpenID (touser)');
  if (!templateId) throw new PushError(`${kind} fallback: a template ID is needed (fallbackTemplateId)`);
  const dropped: string[] = [];
  const fields = templateData(data, kind, dropped);
  const body: Record<string, unknown> = { touser, template_id: templateId, data: fields };
  if (url) body[kind === 'template' ? 'url' : 'page'] = url;
  return { api: kind === 'template' ? 'template' : 'custom', body, channel: kind, dropped };
}

function isFallbackCode(err: unknown): err is WeChatApiError {
  return err instanceof WeChatApiError && FALLBACK_ERRCODES.has(err.errcode);
}

/**
 * Send `req`; when it is a customer-service message that WeChat refuses with 45015 or 45047 and a
 * fallback is given, send the fallback to the same follower instead. Only the customer-service
 * send can fall back (a template send that fails is the error as it is).
 */
export async function deliverPush(sender: PushSender, req: PushRequest, fallback?: PushRequest & { channel: PushChannel }): Promise<PushOutcome> {
  if (req.api === 'template') {
    const answer = await sender.sendTemplate(req.body);
    return { channel: 'template', answer, msgid: msgidOf(answer) };
  }
  try {
    const answer = await sender.sendCustom(req.body);
    return { channel: 'custom', answer, msgid: msgidOf(answer) };
  } catch (err) {
    if (!fallback || !isFallbackCode(err)) throw err;
    const first = err;
    try {
      const answer = fallback.channel === 'template' ? await sender.sendTemplate(fallback.body) : await sender.sendSubscribe(fallback.body);
      return { channel: fallback.channel, answer, msgid: msgidOf(answer), firstCode: first.code };
    } catch (second) {
      throw new FallbackError(fallback.channel, first, second as Error & { code?: unknown });
    }
  }
}
