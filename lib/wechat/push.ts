/** Building the body of a customer-service or template message from node settings and msg. */
export const PUSH_TYPES = ['text', 'image', 'news', 'mpnews', 'template', 'raw'] as const;
export type PushType = (typeof PUSH_TYPES)[number];

export class PushError extends Error {
  readonly code = 'PUSH_INPUT';
  constructor(message: string) {
    super(message);
    this.name = 'PushError';
  }
}

export interface PushRequest {
  api: 'custom' | 'template';
  body: Record<string, unknown>;
}

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
      const fields: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(data)) {
        if (['template_id', 'url', 'miniprogram', 'touser', 'client_msg_id'].includes(k) && data === c) continue;
        fields[k] = isObject(v) ? v : { value: String(v) };
      }
      const body: Record<string, unknown> = { touser, template_id: id, data: fields };
      if (typeof c.url === 'string') body.url = c.url;
      if (isObject(c.miniprogram)) body.miniprogram = c.miniprogram;
      if (typeof c.client_msg_id === 'string') body.client_msg_id = c.client_msg_id;
      return { api: 'template', body };
    }
    default:
      throw new PushError(`unknown message type ${String(type)}`);
  }
}
