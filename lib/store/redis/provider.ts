/**
 * The Redis store provider over node-redis (@redis/client): the connections, the heartbeats that
 * tell living instances from dead ones, pub/sub, and the one rule for a Redis that cannot be
 * reached (`waitForRedis`). The stores it hands out live in this folder: deliveries, locks,
 * tokens, queue; their Lua scripts in scripts.ts. Raw commands (sendCommand) keep the protocol
 * visible. Keys: `<prefix>{<scope>}:<kind>:<key>` — the hash tag keeps a scope on one Redis
 * Cluster slot. The password never appears in a log, error or event.
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { createClient } from '@redis/client';
import type { DeliveryStore, KeyValueStore, Locks, SharedTokenStore, StoreProvider, WorkQueue } from '../types';
import { redact } from '../../util/redact';
import { StoreError } from '../errors';
import { RedisDeliveryStore } from './deliveries';
import { RedisLocks } from './locks';
import { RedisTokenStore } from './tokens';
import { RedisKeyValueStore } from './kv';
import { RedisWorkQueue } from './queue';

export type RedisClient = ReturnType<typeof createClient>;
type Client = RedisClient;

export interface RedisStoreOptions {
  /** redis:// or rediss:// (TLS) */
  url: string;
  username?: string;
  password?: string;
  /** default `wechat-c4c:` */
  prefix?: string;
  /** how long a command may take before it fails with STORE_UNAVAILABLE (default 5000) */
  commandTimeoutMs?: number;
  /** how long a retry-key claim may take (default 1500, at most commandTimeoutMs) */
  claimTimeoutMs?: number;
  /** an instance whose heartbeat is older than this is dead: its claims can be taken over (default 3000) */
  aliveTtlMs?: number;
  /**
   * how long close() waits for running work-queue handlers before it lets go of the connections
   * anyway (default 10000); an item whose handler did not settle stays pending in the Stream and
   * another instance recovers it after `claimAfterMs`.
   */
  closeTimeoutMs?: number;
}

/**
 * What waits for a Redis that cannot be reached, and how long (`waitForRedis(budget)`, then
 * STORE_UNAVAILABLE):
 * - a command right after the provider was made (a deploy): the rest of the first
 *   `commandTimeoutMs`, while the first connection is made; a command on a connection that was
 *   up once: no wait (no offline queue: it fails at once, and the fallbacks take over);
 * - a lock taker: its own `waitMs`, at most OUTAGE_WAIT_MS (a restart or failover is waited out);
 * - a work-queue writer: the queue's `addWaitMs` (default ADD_WAIT_MS).
 */
const OUTAGE_WAIT_MS = 10000;
const ADD_WAIT_MS = 5000;

/** URL without its password, for logs. */
export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(invalid url)';
  }
}

/** A StoreError for a failed command or connection; URLs' passwords and the known secrets scrubbed. */
function unavailable(err: unknown, secrets: readonly (string | undefined)[] = []): StoreError {
  if (err instanceof StoreError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return new StoreError('STORE_UNAVAILABLE', `Redis unavailable: ${redact(msg, secrets)}`);
}

export class RedisStoreProvider extends EventEmitter implements StoreProvider {
  readonly kind = 'redis' as const;
  readonly prefix: string;
  readonly instanceId = `${process.pid}-${randomUUID()}`;
  private readonly client: Client;
  private subscriber: Client | undefined;
  private readonly channelWaiters = new Map<string, Set<(key: string) => void>>();
  private readonly extraClients = new Set<Client>();
  private readonly opts: RedisStoreOptions;
  private readonly commandTimeoutMs: number;
  readonly closeTimeoutMs: number;
  private up = false;
  /** The credentials, scrubbed from every error this store raises. */
  private readonly secrets: (string | undefined)[];
  /** false until the first connection succeeded or failed: the first failure is reported as `down` too. */
  private settled = false;
  /** Commands in the first commandTimeoutMs wait for the first connection instead of failing. */
  private readonly createdAt = Date.now();
  /** Connections that were ready once: when they drop, commands fail at once. */
  private readonly everReady = new WeakSet<Client>();
  private closed = false;
  private readonly connecting: Promise<void>;
  private readonly closers = new Set<{ close(): Promise<void> }>();
  /** Scopes this instance claims deliveries in: each gets a heartbeat key while the instance lives. */
  private readonly aliveScopes = new Set<string>();
  private heartbeatTimer: NodeJS.Timeout | undefined;
  /** Longest wait for a retry-key claim (the webhook must still answer within WeChat's 5 s). */
  readonly claimTimeoutMs: number;
  /** How long a heartbeat key outlives its last renewal (an instance is dead after this). */
  readonly aliveTtlMs: number;
  /** The longest a lock taker waits for a Redis that went away. */
  readonly outageWaitMs = OUTAGE_WAIT_MS;

  constructor(opts: RedisStoreOptions) {
    super();
    this.setMaxListeners(0); // one per config node and queue using this store
    this.opts = opts;
    this.secrets = [opts.password, opts.username];
    this.prefix = opts.prefix ?? 'wechat-c4c:';
    this.commandTimeoutMs = opts.commandTimeoutMs ?? 5000;
    this.closeTimeoutMs = opts.closeTimeoutMs ?? 10000;
    this.claimTimeoutMs = Math.min(this.commandTimeoutMs, opts.claimTimeoutMs ?? 1500);
    this.aliveTtlMs = opts.aliveTtlMs ?? 3000;
    this.client = this.newClient();
    this.client.on('ready', () => this.setUp(true));
    this.client.on('end', () => this.setUp(false));
    this.client.on('error', (err: Error) => this.setUp(false, err));
    this.connecting = this.client.connect().then(() => undefined, () => undefined);
  }

  private newClient(): Client {
    const c = createClient({
      url: this.opts.url,
      username: this.opts.username || undefined,
      password: this.opts.password || undefined,
      disableOfflineQueue: true,
      socket: {
        connectTimeout: this.commandTimeoutMs,
        reconnectStrategy: (retries: number) => (this.closed ? false : Math.min(50 * 2 ** Math.min(retries, 4), 500)),
      },
    });
    (c as unknown as NodeJS.EventEmitter).setMaxListeners(0); // commands waiting for the first connection
    c.on('ready', () => this.everReady.add(c as Client));
    return c as Client;
  }

  /** A dedicated connection (blocking reads, subscriptions). */
  dedicated(): Client {
    const c = this.newClient();
    c.on('error', () => undefined);
    this.extraClients.add(c);
    c.connect().catch(() => undefined);
    return c;
  }

  aliveKeyPrefix(scope: string): string {
    return this.key(scope, 'alive', '');
  }

  /** Keep `<prefix>{scope}:alive:<instanceId>` alive while this instance runs (renewed every third of aliveTtlMs). */
  heartbeat(scope: string): void {
    if (this.aliveScopes.has(scope) || this.closed) return;
    this.aliveScopes.add(scope);
    this.beat();
    if (!this.heartbeatTimer) {
      this.heartbeatTimer = setInterval(() => this.beat(), Math.max(100, Math.floor(this.aliveTtlMs / 3)));
      this.heartbeatTimer.unref?.();
    }
  }

  private beat(): void {
    if (!this.client.isReady) return;
    for (const scope of this.aliveScopes) {
      this.cmd(['SET', this.aliveKeyPrefix(scope) + this.instanceId, '1', 'PX', String(this.aliveTtlMs)]).catch(() => undefined);
    }
  }

  private setUp(up: boolean, err?: Error): void {
    if (this.closed || (up === this.up && this.settled)) return;
    this.settled = true;
    this.up = up;
    if (up) this.beat();
    if (up) this.emit('up');
    else this.emit('down', err ? unavailable(err, this.secrets) : new StoreError('STORE_UNAVAILABLE', 'Redis connection lost'));
  }

  get healthy(): boolean {
    return this.up && this.client.isReady;
  }

  /**
   * The one wait for Redis: true as soon as `client` (default: the command connection) is ready,
   * now or within `budgetMs`; false after it, or at once when the budget is 0 or the store closed.
   */
  waitForRedis(budgetMs: number, client: Client = this.client): Promise<boolean> {
    if (client.isReady) return Promise.resolve(true);
    if (this.closed || budgetMs <= 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      const t = setTimeout(() => { client.off('ready', on); resolve(client.isReady); }, budgetMs);
      function on(): void { clearTimeout(t); resolve(true); }
      client.once('ready', on);
    });
  }

  /** Resolves once the first connection attempt settled. */
  ready(): Promise<void> {
    return this.connecting;
  }

  key(scope: string, kind: string, key: string): string {
    return `${this.prefix}{${scope}}:${kind}:${key}`;
  }

  /** One command; STORE_UNAVAILABLE when it cannot run (no connection, timeout). */
  async cmd<T>(args: string[], client: Client = this.client, timeoutMs = this.commandTimeoutMs): Promise<T> {
    if (this.closed) throw new StoreError('STORE_UNAVAILABLE', 'store is closed');
    // Right after start (deploy) the first connection is still being made: wait for it, within the
    // command's time. Later, a lost connection fails at once (no offline queue).
    if (!client.isReady) {
      const startup = this.everReady.has(client) ? 0 : Math.min(this.createdAt + this.commandTimeoutMs - Date.now(), timeoutMs);
      if (!(await this.waitForRedis(startup, client))) throw new StoreError('STORE_UNAVAILABLE', 'Redis is not connected');
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        client.sendCommand<T>(args),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new StoreError('STORE_UNAVAILABLE', `Redis did not answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } catch (err) {
      if ((err as { name?: string }).name === 'ErrorReply' || /^(ERR|WRONGTYPE|NOSCRIPT|BUSYGROUP|NOGROUP)/.test((err as Error).message ?? '')) throw err;
      throw unavailable(err, this.secrets);
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  /** Subscribe `listener` to `channel` on the shared subscriber connection; returns unsubscribe. */
  async listen(channel: string, listener: (msg: string) => void): Promise<() => void> {
    if (!this.subscriber) {
      this.subscriber = this.dedicated();
    }
    const sub = this.subscriber;
    let set = this.channelWaiters.get(channel);
    if (!set && !(await this.waitForRedis(this.commandTimeoutMs, sub))) throw new StoreError('STORE_UNAVAILABLE', 'Redis subscription failed');
    set = this.channelWaiters.get(channel); // another caller may have subscribed meanwhile
    if (!set) {
      set = new Set();
      this.channelWaiters.set(channel, set);
      const s = set;
      try {
        await sub.subscribe(channel, (message: string) => { for (const l of [...s]) l(message); });
      } catch {
        this.channelWaiters.delete(channel);
        throw new StoreError('STORE_UNAVAILABLE', 'Redis subscription failed');
      }
    }
    set.add(listener);
    return () => {
      const cur = this.channelWaiters.get(channel);
      if (!cur) return;
      cur.delete(listener);
      if (cur.size === 0) {
        this.channelWaiters.delete(channel);
        if (sub.isOpen) sub.unsubscribe(channel).catch(() => undefined);
      }
    };
  }

  deliveries(scope: string): DeliveryStore {
    return this.track(new RedisDeliveryStore(this, scope));
  }

  locks(scope: string): Locks {
    return this.track(new RedisLocks(this, scope));
  }

  tokens<R extends { token: string }>(): SharedTokenStore<R> {
    return new RedisTokenStore<R>(this);
  }

  kv(scope: string): KeyValueStore {
    return new RedisKeyValueStore(this, scope);
  }

  queue<T>(name: string, opts: { claimAfterMs: number; addWaitMs?: number }): WorkQueue<T> {
    return this.track(new RedisWorkQueue<T>(this, name, opts.claimAfterMs, opts.addWaitMs ?? ADD_WAIT_MS));
  }

  private track<C extends { close(): Promise<void> }>(c: C): C {
    this.closers.add(c);
    return c;
  }

  /**
   * What a delivery store, lock set or queue calls when it closes: the provider lives as long as
   * its Redis node, across redeploys of the nodes that use it, and must not keep what they made.
   */
  untrack(c: { close(): Promise<void> }, client?: Client): void {
    this.closers.delete(c);
    if (client) {
      this.extraClients.delete(client);
      try {
        if (client.isOpen) client.destroy();
      } catch { /* already closed */ }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await Promise.all([...this.closers].map((c) => c.close().catch(() => undefined)));
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    // a clean stop is not a death: the claims it holds were answered (close flushes them)
    await Promise.all([...this.aliveScopes].map((s) => this.cmd(['DEL', this.aliveKeyPrefix(s) + this.instanceId], undefined, 1000).catch(() => undefined)));
    this.closed = true;
    const all = [this.client, ...this.extraClients];
    await Promise.all(all.map(async (c) => {
      try {
        if (c.isOpen) c.destroy();
      } catch { /* already closed */ }
    }));
  }
}
