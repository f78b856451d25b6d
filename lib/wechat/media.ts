/**
 * Temporary media a follower sent (image, voice, video): `GET /cgi-bin/media/get?access_token=…
 * &media_id=…` with the account's token. WeChat answers the bytes (Content-Type and a
 * Content-Disposition filename), `{"video_url"}` for a video, `{"errcode":40007}` for an id that
 * is unknown or expired (temporary media live 3 days). Bodies are read as a stream and dropped at
 * `maxBytes`: a big video never sits in memory whole. A token error gets one retry with a fresh
 * token, as every other call of the account.
 */
import type { Readable } from 'node:stream';
import { createHttp, networkErrorCode } from '../util/http';
import { parseJsonExact } from '../util/json';
import { WeChatC4CError } from '../errors';
import { TOKEN_ERRORS } from './api';
import { WeChatApiError, WeChatHttpError } from './errors';

export interface MediaFile {
  bytes: Buffer;
  mimeType: string;
  name: string;
}

export interface MediaSource {
  /** e.g. https://api.weixin.qq.com */
  apiBase: string;
  getToken(): Promise<string>;
  /** drop a token WeChat refused (only if it is still the stored one) */
  invalidate?(token: string): Promise<unknown>;
  /** scrubs secrets from error texts */
  redact?(text: string): string;
}

/** The media is larger than allowed: code `MEDIA_TOO_BIG`. */
export class MediaTooBigError extends WeChatC4CError {
  constructor(readonly maxBytes: number) {
    super('MEDIA_TOO_BIG', `WeChat media/get: the media is larger than ${maxBytes} bytes`, { hintKey: null });
    this.name = 'MediaTooBigError';
  }
}

/** 40007: the media id is unknown or expired (WeChat keeps temporary media 3 days). */
export function mediaGone(err: unknown): boolean {
  return err instanceof WeChatApiError && err.errcode === 40007;
}

const EXTENSIONS: Record<string, string> = {
  'image/jpeg': 'jpg', 'image/png': 'png', 'image/gif': 'gif', 'audio/amr': 'amr', 'audio/speex': 'speex',
  'audio/mpeg': 'mp3', 'video/mp4': 'mp4', 'application/octet-stream': 'bin',
};

/** The filename of a Content-Disposition header (`filename="x.jpg"`), else `<mediaId>.<ext>`. */
function mediaName(disposition: string | undefined, mimeType: string, mediaId: string): string {
  const m = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(String(disposition ?? ''));
  const name = m ? m[1].trim().replace(/[/\\]/g, '_') : '';
  if (name) return name.slice(0, 100);
  return `${mediaId.slice(0, 60)}.${EXTENSIONS[mimeType] ?? 'bin'}`;
}

/** Read a stream up to `maxBytes`; more destroys it and fails with MediaTooBigError. */
function readCapped(stream: Readable, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        stream.destroy();
        reject(new MediaTooBigError(maxBytes));
        return;
      }
      chunks.push(chunk);
    });
    stream.once('end', () => resolve(Buffer.concat(chunks)));
    stream.once('error', reject);
  });
}

/**
 * Fetch one media file. Fails with WeChatApiError (`mediaGone` for 40007), MediaTooBigError,
 * or WeChatHttpError (network, HTTP status); never with the access_token in a message.
 */
export async function fetchMedia(source: MediaSource, mediaId: string, opts: { maxBytes: number; timeoutMs?: number }): Promise<MediaFile> {
  const http = createHttp({ baseURL: source.apiBase || 'https://api.weixin.qq.com', timeoutMs: opts.timeoutMs ?? 30000 });
  const scrub = (text: string, token?: string): string => {
    let out = source.redact ? source.redact(text) : text;
    if (token) out = out.split(token).join('***');
    return out;
  };
  const once = async (url: string, params: Record<string, string> | undefined, token?: string): Promise<MediaFile | { json: Record<string, unknown> }> => {
    let res;
    try {
      res = await http.request<Readable>({ method: 'GET', url, params, responseType: 'stream' });
    } catch (err) {
      const code = networkErrorCode(err);
      throw new WeChatHttpError('media/get', code, scrub(`${code}${(err as Error).message ? `: ${(err as Error).message}` : ''}`, token));
    }
    const stream = res.data;
    if (res.status !== 200) {
      stream.destroy();
      throw new WeChatHttpError('media/get', `HTTP_${res.status}`, `HTTP ${res.status}`, res.status);
    }
    const mimeType = String(res.headers['content-type'] ?? 'application/octet-stream').split(';')[0].trim().toLowerCase();
    const length = Number(res.headers['content-length']);
    if (Number.isFinite(length) && length > opts.maxBytes) {
      stream.destroy();
      throw new MediaTooBigError(opts.maxBytes);
    }
    // An answer in JSON (or plain text that is JSON) is an error or a video's URL, never media.
    if (/json|text\/plain/.test(mimeType)) {
      const text = (await readCapped(stream, 64 * 1024)).toString('utf8');
      try {
        return { json: parseJsonExact(text) as Record<string, unknown> };
      } catch {
        throw new WeChatHttpError('media/get', 'BAD_JSON', 'the answer is not JSON', res.status);
      }
    }
    const bytes = await readCapped(stream, opts.maxBytes);
    return { bytes, mimeType, name: mediaName(res.headers['content-disposition'] as string | undefined, mimeType, mediaId) };
  };
  for (let attempt = 0; ; attempt++) {
    const token = await source.getToken();
    const answer = await once('/cgi-bin/media/get', { access_token: token, media_id: mediaId }, token);
    if (!('json' in answer)) return answer;
    const errcode = answer.json.errcode === undefined ? 0 : Number(answer.json.errcode);
    if (errcode !== 0) {
      if (TOKEN_ERRORS.has(errcode) && attempt === 0 && source.invalidate) {
        await source.invalidate(token);
        continue;
      }
      throw new WeChatApiError('media/get', errcode, scrub(String(answer.json.errmsg ?? ''), token));
    }
    const videoUrl = typeof answer.json.video_url === 'string' ? answer.json.video_url : '';
    if (!videoUrl) throw new WeChatHttpError('media/get', 'BAD_JSON', 'the answer has neither media nor a video_url');
    const video = await once(videoUrl, undefined);
    if ('json' in video) throw new WeChatHttpError('media/get', 'BAD_JSON', 'the video_url answered JSON, not a video');
    return { ...video, name: video.name.includes('.') ? video.name : `${mediaId.slice(0, 60)}.mp4` };
  }
}
