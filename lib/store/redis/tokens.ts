/** One access token record per account in Redis (JSON, expiring with the token). */
import type { SharedTokenStore } from '../types';
import type { RedisStoreProvider } from './provider';
import { DEL_TOKEN_IF } from './scripts';

export class RedisTokenStore<R extends { token: string; expiresAt?: number }> implements SharedTokenStore<R> {
  constructor(private readonly p: RedisStoreProvider) {}
  private k(appId: string): string { return this.p.key(appId, 'token', 'access'); }

  async get(appId: string): Promise<R | undefined> {
    const v = await this.p.cmd<string | null>(['GET', this.k(appId)]);
    if (!v) return undefined;
    try {
      return JSON.parse(v) as R;
    } catch {
      return undefined; // a damaged record is no token (and its text, a token perhaps, goes into no error)
    }
  }

  async set(appId: string, record: R): Promise<void> {
    const ttl = typeof record.expiresAt === 'number' ? record.expiresAt - Date.now() : 7200 * 1000;
    if (ttl <= 0) return;
    await this.p.cmd(['SET', this.k(appId), JSON.stringify(record), 'PX', String(Math.ceil(ttl))]);
  }

  async delete(appId: string, ifToken: string): Promise<boolean> {
    return Number(await this.p.cmd<number>(['EVAL', DEL_TOKEN_IF, '1', this.k(appId), ifToken])) === 1;
  }
}
