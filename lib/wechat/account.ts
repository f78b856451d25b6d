import { decodeAESKey } from './crypto';
import { DedupeCache } from './dedupe';
import { ReplayGuard, type InboundAccount } from './inbound';

export interface AccountSettings {
  appId?: string;
  token?: string;
  encodingAESKey?: string;
  previousEncodingAESKey?: string;
  replayWindow?: number | string;
}

/**
 * Per-account state shared by the nodes of one wechat-config: the decoded AES keys, the inbound
 * settings, and the dedupe/reply cache. `problems` lists configuration errors (never a secret).
 */
export class WeChatAccount {
  readonly inbound: InboundAccount;
  readonly dedupe = new DedupeCache();
  readonly problems: string[] = [];

  constructor(settings: AccountSettings) {
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
    this.inbound = {
      appId,
      token,
      keys,
      replayWindow: Number.isFinite(window) && window >= 0 ? window : 300,
      replayGuard: new ReplayGuard(),
    };
  }

  /** The AES key that decrypted a request (by index), for encrypting its reply with the same key. */
  keyFor(keyIndex: number): Buffer | undefined {
    return this.inbound.keys[keyIndex] ?? this.inbound.keys[0];
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
