import { EventEmitter } from 'node:events';
import { MemoryDeliveryStore } from '../store/memory-delivery';
import { DeadlineQueue } from '../util/deadline-queue';
import type { ClaimResult, DeliveryStore, SealedReply, WaitResult } from '../store/types';
import { decodeAESKey } from './crypto';
import { SUCCESS_REPLY, type DeliveryInfo } from './delivery';
import { acceptedUntilMs, DEFAULT_MAX_ENCRYPT_BYTES, handleInbound, parseMessageMode, ReplayGuard, type InboundAccount, type InboundRequest, type InboundResult } from './inbound';
import { buildReplyXml, encryptReply, normaliseFields, ReplyError, type ReplyType } from './reply';

export interface AccountStores {
  /** Retry claims and sealed replies (default: a MemoryDeliveryStore). */
  deliveries?: DeliveryStore;
}

/** What `receive` found: the inbound result, and for a message whether it is the first delivery. */
export type Received =
  | Exclude<InboundResult, { kind: 'message' }>
  | (Extract<InboundResult, { kind: 'message' }> & { claim: ClaimResult });

const XML_CONTENT_TYPE = 'application/xml; charset=utf-8';
/** What the ack deadline needs to know of a first delivery in the flow (the caller's own object). */
export interface Unanswered {
  /** the retry key */
  key: string;
  topic: string;
}

/** A running ack deadline: `track` each first delivery (from its arrival), `flush` on close. */
export interface AckDeadline<D extends Unanswered> {
  track(delivery: D, arrivedAt?: number): void;
  /** Everything still tracked settled now: answered ones as answered, the rest `success`. */
  flush(): void;
}

/** Deliveries tracked in process while in the flow; more than this and the oldest are forgotten. */
const MAX_IN_FLIGHT = 200000;

export interface AccountSettings {
  appId?: string;
  token?: string;
  encodingAESKey?: string;
  previousEncodingAESKey?: string;
  replayWindow?: number | string;
  /** As set on the 公众平台: `safe` | `compatible` | `plain` | `any`; see parseMessageMode (undefined: `any`, '': `safe`). */
  messageMode?: unknown;
  /** Largest `<Encrypt>` value accepted, in bytes (default DEFAULT_MAX_ENCRYPT_BYTES). */
  maxEncryptBytes?: number | string;
}

/**
 * Per-account state shared by the nodes of one wechat-config: the decoded AES keys, the inbound
 * settings, and the inbound lifecycle over the injected DeliveryStore. `problems` lists configuration errors (never a secret).
 */
export class WeChatAccount extends EventEmitter {
  readonly inbound: InboundAccount;
  readonly deliveries: DeliveryStore;
  readonly problems: string[] = [];
  /** What each reply needs to know about its request, only while the delivery is in the flow. */
  private readonly inFlight = new Map<string, DeliveryInfo>();

  /** false while the shared store (Redis) cannot be reached: retry dedupe is this instance's alone. */
  private storeUp = true;

  constructor(settings: AccountSettings, stores: AccountStores = {}) {
    super();
    this.setMaxListeners(0);
    this.deliveries = stores.deliveries ?? new MemoryDeliveryStore();
    const keys: Buffer[] = [];
    const appId = String(settings.appId ?? '').trim();
    const token = String(settings.token ?? '');
    if (!token) this.problems.push('token-missing');
    for (const [name, value] of [['encodingAESKey', settings.encodingAESKey], ['previousEncodingAESKey', settings.previousEncodingAESKey]] as const) {
      const text = String(value ?? '').trim();
      if (!text) continue;
      try {
        keys.push(decodeAESKey(text));
      } catch {
        this.problems.push(`${name}-invalid`);
      }
    }
    if (keys.length > 0 && !appId) this.problems.push('appid-missing');
    const window = Number(settings.replayWindow ?? 300);
    const messageMode = parseMessageMode(settings.messageMode);
    if (!messageMode) this.problems.push('message-mode-invalid');
    if ((messageMode === 'safe' || messageMode === 'compatible') && keys.length === 0) this.problems.push('aes-key-missing');
    const maxEncrypt = Number(settings.maxEncryptBytes ?? DEFAULT_MAX_ENCRYPT_BYTES);
    this.inbound = {
      appId,
      token,
      keys,
      replayWindow: Number.isFinite(window) && window >= 0 ? window : 300,
      messageMode: messageMode ?? 'safe',
      maxEncryptBytes: Number.isFinite(maxEncrypt) && maxEncrypt > 0 ? maxEncrypt : DEFAULT_MAX_ENCRYPT_BYTES,
      replayGuard: new ReplayGuard(),
    };
  }

  /** The AES key that decrypted a request (by index), for encrypting its reply with the same key. */
  keyFor(keyIndex: number): Buffer | undefined {
    return this.inbound.keys[keyIndex] ?? this.inbound.keys[0];
  }

  /**
   * How long a delivery's retry claim must live: as long as its request would still be accepted
   * (the replay window), so that the identical request replayed at any time in the window is a
   * retry and never runs the flow again; at least `windowMs` (WeChat's retries) and `holdMs` (the
   * ack deadline and a margin).
   */
  claimTtlMs(windowMs: number, holdMs: number, timestamp?: string, nowMs = Date.now()): number {
    const w = this.inbound.replayWindow;
    // until the request's own timestamp is refused (a second of margin), not merely `window` after arrival
    const untilRefused = w > 0 && timestamp !== undefined ? acceptedUntilMs(timestamp, w) - nowMs + 1000 : 0;
    return Math.max(windowMs, holdMs, w * 1000, untilRefused);
  }

  /**
   * Receive one webhook request: check (query first, body after), decrypt, parse, then claim the
   * retry key for `claimTtlMs(windowMs, holdMs)`. A first delivery is remembered in process until
   * `settle`. `windowMs` 0 = no dedupe (every delivery is first).
   */
  async receive(req: InboundRequest, opts: { windowMs: number; holdMs: number }, nowMs = Date.now()): Promise<Received> {
    const result = handleInbound(req, this.inbound, nowMs);
    if (result.kind !== 'message') return result;
    const claim: ClaimResult = opts.windowMs > 0 ? await this.deliveries.claim(result.dedupeKey, this.claimTtlMs(opts.windowMs, opts.holdMs, result.timestamp, nowMs)) : { first: true };
    if (claim.first) this.track(result);
    return { ...result, claim };
  }

  /** Remember what the reply to a first delivery needs, until `settle`. */
  private track(result: Extract<InboundResult, { kind: 'message' }>): void {
    if (this.inFlight.size >= MAX_IN_FLIGHT) this.inFlight.delete(this.inFlight.keys().next().value as string);
    this.inFlight.set(result.dedupeKey, {
      keyIndex: result.keyIndex,
      accountId: String(result.message.ToUserName ?? ''),
      follower: result.openid,
      msgType: String(result.message.MsgType),
    });
  }

  /**
   * A retry: the first delivery's reply, waiting up to `timeoutMs` while it is in the flow. With a
   * shared store, if the instance that has the first delivery dies meanwhile, the delivery passes
   * to this instance (`takenOver`: run the flow for it, as for a first delivery; `ttlMs` is the
   * claim's lifetime, as in `receive`).
   */
  async awaitFirst(result: Extract<Received, { kind: 'message' }>, timeoutMs: number, ttlMs: number, signal?: AbortSignal): Promise<WaitResult> {
    const claim = result.claim;
    if (!claim.first && claim.reply !== undefined) return { reply: claim.reply };
    let w: WaitResult;
    try {
      w = this.deliveries.waitOrTakeOver
        ? await this.deliveries.waitOrTakeOver(result.dedupeKey, timeoutMs, ttlMs, signal)
        : { reply: await this.deliveries.waitFor(result.dedupeKey, timeoutMs, signal) };
    } catch {
      w = { reply: null };
    }
    if ('takenOver' in w) this.track(result);
    return w;
  }

  /** The in-flight request behind `key`, if it is still in the flow on this instance. */
  delivery(key: string): DeliveryInfo | undefined {
    return this.inFlight.get(key);
  }

  /**
   * Build and seal the passive reply for the delivery `key` (encrypted with the key that
   * decrypted the request when it was encrypted). `fallback` covers a delivery this instance
   * no longer tracks (settled by the ack timeout); nothing else of the request is needed.
   */
  sealReply(key: string, type: ReplyType, input: unknown, opts: { encrypted: boolean; fallback?: Partial<DeliveryInfo>; nowMs?: number }): { reply: SealedReply; droppedArticles: number } {
    const info = this.inFlight.get(key);
    const follower = info?.follower || opts.fallback?.follower || '';
    const accountId = info?.accountId || opts.fallback?.accountId || '';
    if (!follower || !accountId) throw new ReplyError('the request this reply answers is unknown (expired or from another account)', 'UNKNOWN_REQUEST');
    const msgType = info?.msgType ?? opts.fallback?.msgType ?? 'event';
    const built = buildReplyXml(type, normaliseFields(type, input), {
      toUser: follower,
      fromUser: accountId,
      createTime: Math.floor((opts.nowMs ?? Date.now()) / 1000),
      maxArticles: msgType === 'event' ? 8 : 1,
    });
    let body = built.xml;
    if (opts.encrypted) {
      const aesKey = this.keyFor(info && info.keyIndex >= 0 ? info.keyIndex : 0);
      if (!aesKey) throw new ReplyError('the request was encrypted but the account has no EncodingAESKey', 'NO_AES_KEY');
      body = encryptReply(body, { key: aesKey, appId: this.inbound.appId, token: this.inbound.token });
    }
    return { reply: { statusCode: 200, contentType: XML_CONTENT_TYPE, body }, droppedArticles: built.droppedArticles };
  }

  /**
   * Share the first delivery's reply with its retries (first write wins) and forget the request.
   * `ifOpen`: only if the delivery is still in the flow here (not settled by wechat-reply already:
   * that write would be a no-op costing a Redis round trip).
   */
  settle(key: string, reply: SealedReply | null, opts: { ifOpen?: boolean } = {}): Promise<SealedReply | null> {
    if (opts.ifOpen && !this.inFlight.has(key)) return Promise.resolve(null);
    this.inFlight.delete(key);
    return this.deliveries.complete(key, reply).catch(() => reply);
  }

  /**
   * The ack deadline, WeChat's 5 s as a safety net: a first delivery the flow has not answered
   * within `ms` of its arrival is answered `success` now (`answer`), and so are its retries; one
   * answered by something other than wechat-reply: its retries get `success`. `onExpired` for a
   * warning. One timer for every delivery (lib/util/deadline-queue.ts); the delivery objects are
   * the caller's, so that it can drop what it holds (a response) as soon as it is answered.
   */
  ackDeadline<D extends Unanswered>(ms: number, hooks: { answered(d: D): boolean; answer(d: D, reply: SealedReply): void; onExpired(d: D): void }): AckDeadline<D> {
    const queue = new DeadlineQueue<D>(ms, 100, {
      isSettled: (d) => hooks.answered(d),
      onSettled: (d) => void this.settle(d.key, null, { ifOpen: true }),
      onExpired: (d) => {
        hooks.answer(d, SUCCESS_REPLY);
        void this.settle(d.key, SUCCESS_REPLY);
        hooks.onExpired(d);
      },
    });
    return { track: (d, arrivedAt) => queue.push(d, arrivedAt), flush: () => queue.flush() };
  }

  /**
   * The shared store went down or came back. Emits `store` ('down', error) / ('up') on a change
   * only, for the nodes' statuses and warnings.
   */
  storeState(up: boolean, err?: Error): void {
    if (up === this.storeUp) return;
    this.storeUp = up;
    this.emit('store', up ? 'up' : 'down', err);
  }

  get storeHealthy(): boolean {
    return this.storeUp;
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  async close(): Promise<void> {
    this.inFlight.clear();
    this.removeAllListeners();
    await this.deliveries.close();
  }
}

/**
 * Rejection warnings without a flood: the first of each reason is reported at once, the next
 * ones at most every `intervalMs` per reason, with how many there were since the last report.
 */
export class RejectionLog {
  private readonly reasons = new Map<string, { last: number; count: number }>();

  constructor(private readonly intervalMs = 10000, private readonly maxReasons = 256) {}

  /** Count one rejection; returns how many to report now (this one included), or 0 to stay quiet. */
  note(reason: string, now = Date.now()): number {
    let r = this.reasons.get(reason);
    if (!r) {
      if (this.reasons.size >= this.maxReasons) this.reasons.clear();
      r = { last: -Infinity, count: 0 };
      this.reasons.set(reason, r);
    }
    r.count++;
    if (now - r.last < this.intervalMs) return 0;
    const count = r.count;
    r.last = now;
    r.count = 0;
    return count;
  }
}
