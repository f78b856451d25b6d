/** Small shared values in Redis: GET / SET PX (NX for `add`), keys `<prefix>{<scope>}:kv:<key>`. */
import type { KeyValueStore } from '../types';
import type { RedisStoreProvider } from './provider';

/** `<prefix>{<scope>}:kv:<key>`, each with its lifetime. */
export class RedisKeyValueStore implements KeyValueStore {
  constructor(private readonly p: RedisStoreProvider, private readonly scope: string) {}
  private k(key: string): string { return this.p.key(this.scope, 'kv', key); }

  async get(key: string): Promise<string | undefined> {
    return (await this.p.cmd<string | null>(['GET', this.k(key)])) ?? undefined;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    await this.p.cmd(['SET', this.k(key), value, 'PX', String(Math.max(1, Math.ceil(ttlMs)))]);
  }

  async add(key: string, value: string, ttlMs: number): Promise<boolean> {
    return (await this.p.cmd<string | null>(['SET', this.k(key), value, 'NX', 'PX', String(Math.max(1, Math.ceil(ttlMs)))])) !== null;
  }

  async delete(key: string): Promise<void> {
    await this.p.cmd(['DEL', this.k(key)]);
  }
}
