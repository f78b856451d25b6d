/**
 * Temporary media a follower sent (image, voice, video), as the account's client fetches it
 * (WeChatClient.getMedia: `GET /cgi-bin/media/get?access_token=…&media_id=…`). WeChat answers the
 * bytes (Content-Type and a Content-Disposition filename), `{"video_url"}` for a video,
 * `{"errcode":40007}` for an id that is unknown or expired (temporary media live 3 days). Bodies
 * are read as a stream and dropped at `maxBytes`: a big video never sits in memory whole.
 */
import type { Readable } from 'node:stream';
import { parseJsonExact } from '../util/json';
import { WeChatC4CError } from '../errors';
import { WeChatApiError, WeChatHttpError } from './errors';

export interface MediaFile {
  bytes: Buffer;
  mimeType: string;
  name: string;
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

/**
 * Read a stream up to `maxBytes`; more destroys it and fails with MediaTooBigError. A body that
 * stops for `idleMs` (the request timeout: it covers only the answer's headers) fails with
 * ETIMEDOUT, one that ends early (the connection closed) with ECONNRESET: the follower's turn never
 * waits for it forever.
 */
function readCapped(stream: Readable, maxBytes: number, idleMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stream.destroy();
      reject(err);
    };
    const stalled = (): void => fail(new WeChatHttpError('media/get', 'ETIMEDOUT', `the media stopped arriving for ${idleMs} ms`));
    let timer = setTimeout(stalled, idleMs);
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        fail(new MediaTooBigError(maxBytes));
        return;
      }
      chunks.push(chunk);
      clearTimeout(timer);
      timer = setTimeout(stalled, idleMs);
    });
    stream.once('end', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
    stream.once('error', (err: Error) => fail(err));
    stream.once('close', () => fail(new WeChatHttpError('media/get', 'ECONNRESET', 'the connection closed before the media ended')));
  });
}

/**
 * One media/get answer (or a video_url's): the bytes with their MIME type and name, or `{json}` for
 * an answer in JSON (an error, or a video's URL) — never media. Fails with WeChatHttpError (an HTTP
 * status, unreadable JSON, a body silent for `idleMs` or cut short) or MediaTooBigError; the stream
 * is destroyed whenever it is not read.
 */
export async function readMedia(res: { status: number; headers: Record<string, unknown>; data: Readable }, mediaId: string, maxBytes: number, idleMs: number): Promise<MediaFile | { json: Record<string, unknown> }> {
  const stream = res.data;
  if (res.status !== 200) {
    stream.destroy();
    throw new WeChatHttpError('media/get', `HTTP_${res.status}`, `HTTP ${res.status}`, res.status);
  }
  const mimeType = String(res.headers['content-type'] ?? 'application/octet-stream').split(';')[0].trim().toLowerCase();
  const length = Number(res.headers['content-length']);
  if (Number.isFinite(length) && length > maxBytes) {
    stream.destroy();
    throw new MediaTooBigError(maxBytes);
  }
  // An answer in JSON (or plain text that is JSON) is an error or a video's URL, never media.
  if (/json|text\/plain/.test(mimeType)) {
    const text = (await readCapped(stream, 64 * 1024, idleMs)).toString('utf8');
    try {
      return { json: parseJsonExact(text) as Record<string, unknown> };
    } catch {
      throw new WeChatHttpError('media/get', 'BAD_JSON', 'the answer is not JSON', res.status);
    }
  }
  const bytes = await readCapped(stream, maxBytes, idleMs);
  return { bytes, mimeType, name: mediaName(res.headers['content-disposition'] as string | undefined, mimeType, mediaId) };
}
