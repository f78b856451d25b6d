import { WeChatC4CError } from '../errors';
import { randomInt } from 'node:crypto';
import { stripForbiddenXmlChars } from './xml-chars';
import { encryptMessage } from './crypto';
import { wechatSignature } from './signature';

export const REPLY_TYPES = ['text', 'image', 'voice', 'video', 'music', 'news', 'transfer_customer_service', 'success'] as const;
export type ReplyType = (typeof REPLY_TYPES)[number];

export interface NewsArticle {
  Title?: string;
  Description?: string;
  PicUrl?: string;
  Url?: string;
}

/** What a reply says; field names follow WeChat's reply XML (lower-case aliases accepted). */
export interface ReplyFields {
  Content?: string;
  MediaId?: string;
  Title?: string;
  Description?: string;
  MusicUrl?: string;
  HQMusicUrl?: string;
  ThumbMediaId?: string;
  Articles?: NewsArticle[];
  KfAccount?: string;
}

/** The reply cannot be built from the input (`REPLY_INPUT`), or its request is not known here (`UNKNOWN_REQUEST`, `NO_AES_KEY`). */
export class ReplyError extends WeChatC4CError {
  constructor(message: string, code = 'REPLY_INPUT') {
    super(code, message);
    this.name = 'ReplyError';
  }
}

/**
 * A CDATA section that survives any content: `]]>` is split across two sections; characters XML
 * 1.0 does not allow at all (they would make the reply unparseable) are left out.
 */
export function cdata(value: unknown): string {
  const text = stripForbiddenXmlChars(value === undefined || value === null ? '' : String(value));
  return `<![CDATA[${text.includes(']]>') ? text.replace(/]]>/g, ']]]]><![CDATA[>') : text}]]>`;
}

function el(name: string, value: unknown): string {
  return `<${name}>${cdata(value)}</${name}>`;
}

function pick(fields: Record<string, unknown>, ...names: string[]): string | undefined {
  for (const n of names) {
    const v = fields[n];
    if (v !== undefined && v !== null && v !== '') return String(v);
  }
  return undefined;
}

function required(fields: Record<string, unknown>, what: string, ...names: string[]): string {
  const v = pick(fields, ...names);
  if (v === undefined) throw new ReplyError(`a ${what} reply needs ${names[0]}`);
  return v;
}

/** Normalise a user-supplied payload (`msg.payload` object or configured fields) into ReplyFields. */
export function normaliseFields(type: ReplyType, input: unknown): Record<string, unknown> {
  if (input === undefined || input === null) return {};
  if (typeof input !== 'object' || Buffer.isBuffer(input)) {
    if (type === 'text') return { Content: String(input) };
    if (type === 'image' || type === 'voice' || type === 'video') return { MediaId: String(input) };
    if (type === 'transfer_customer_service') return { KfAccount: String(input) };
    throw new ReplyError(`a ${type} reply needs an object, got ${typeof input}`);
  }
  if (Array.isArray(input)) return type === 'news' ? { Articles: input } : {};
  return input as Record<string, unknown>;
}

export interface ReplyContext {
  /** The follower's OpenID (the incoming FromUserName). */
  toUser: string;
  /** The account's gh_ id (the incoming ToUserName). */
  fromUser: string;
  /** Seconds since the epoch. */
  createTime: number;
  /** Max articles in a news reply: 1 when replying to a user's message, 8 otherwise. */
  maxArticles?: number;
}

export interface BuiltReply {
  /** The reply XML (plaintext), or `success`. */
  xml: string;
  /** Articles dropped because WeChat would refuse more. */
  droppedArticles: number;
}

/** Build the plaintext reply XML for a passive reply. `success` is returned as the bare word. */
export function buildReplyXml(type: ReplyType, input: Record<string, unknown>, ctx: ReplyContext): BuiltReply {
  if (type === 'success') return { xml: 'success', droppedArticles: 0 };
  const f = input;
  const head = `<ToUserName>${cdata(ctx.toUser)}</ToUserName><FromUserName>${cdata(ctx.fromUser)}</FromUserName>` +
    `<CreateTime>${Math.floor(ctx.createTime)}</CreateTime><MsgType>${cdata(type)}</MsgType>`;
  let body: string;
  let dropped = 0;
  switch (type) {
    case 'text':
      body = el('Content', required(f, 'text', 'Content', 'content', 'text'));
      break;
    case 'image':
      body = `<Image>${el('MediaId', required(f, 'image', 'MediaId', 'mediaId', 'media_id'))}</Image>`;
      break;
    case 'voice':
      body = `<Voice>${el('MediaId', required(f, 'voice', 'MediaId', 'mediaId', 'media_id'))}</Voice>`;
      break;
    case 'video':
      body = `<Video>${el('MediaId', required(f, 'video', 'MediaId', 'mediaId', 'media_id'))}` +
        `${el('Title', pick(f, 'Title', 'title') ?? '')}${el('Description', pick(f, 'Description', 'description') ?? '')}</Video>`;
      break;
    case 'music':
      body = `<Music>${el('Title', pick(f, 'Title', 'title') ?? '')}${el('Description', pick(f, 'Description', 'description') ?? '')}` +
        `${el('MusicUrl', pick(f, 'MusicUrl', 'musicUrl', 'musicurl') ?? '')}${el('HQMusicUrl', pick(f, 'HQMusicUrl', 'hqMusicUrl', 'hqmusicurl') ?? '')}` +
        `${el('ThumbMediaId', required(f, 'music', 'ThumbMediaId', 'thumbMediaId', 'thumb_media_id'))}</Music>`;
      break;
    case 'news': {
      const raw = (f.Articles ?? f.articles) as unknown;
      if (!Array.isArray(raw) || raw.length === 0) throw new ReplyError('a news reply needs Articles: an array of {Title, Description, PicUrl, Url}');
      const max = ctx.maxArticles ?? 8;
      const articles = raw.slice(0, max) as Record<string, unknown>[];
      dropped = raw.length - articles.length;
      body = `<ArticleCount>${articles.length}</ArticleCount><Articles>` + articles.map((a) => {
        const item = (a ?? {}) as Record<string, unknown>;
        return `<item>${el('Title', pick(item, 'Title', 'title') ?? '')}${el('Description', pick(item, 'Description', 'description') ?? '')}` +
          `${el('PicUrl', pick(item, 'PicUrl', 'picUrl', 'picurl') ?? '')}${el('Url', pick(item, 'Url', 'url') ?? '')}</item>`;
      }).join('') + '</Articles>';
      break;
    }
    case 'transfer_customer_service': {
      const kf = pick(f, 'KfAccount', 'kfAccount', 'kf_account');
      body = kf ? `<TransInfo>${el('KfAccount', kf)}</TransInfo>` : '';
      break;
    }
    default:
      throw new ReplyError(`unknown reply type "${String(type)}"`);
  }
  return { xml: `<xml>${head}${body}</xml>`, droppedArticles: dropped };
}

/** A WeChat-style nonce: digits, as WeChat itself sends. */
export function makeNonce(): string {
  return String(randomInt(100000000, 2147483647));
}

/** Wrap a plaintext reply into the safe-mode envelope with its MsgSignature. */
export function encryptReply(xml: string, opts: { key: Buffer; appId: string; token: string; timestamp?: string; nonce?: string; random16?: Buffer }): string {
  const timestamp = opts.timestamp ?? String(Math.floor(Date.now() / 1000));
  const nonce = opts.nonce ?? makeNonce();
  const encrypt = encryptMessage(opts.key, opts.appId, xml, opts.random16);
  const signature = wechatSignature(opts.token, timestamp, nonce, encrypt);
  return `<xml><Encrypt>${cdata(encrypt)}</Encrypt><MsgSignature>${cdata(signature)}</MsgSignature>` +
    `<TimeStamp>${timestamp}</TimeStamp><Nonce>${cdata(nonce)}</Nonce></xml>`;
}
