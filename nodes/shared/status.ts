import type { NodeInstance, NodeStatus } from './types';
import { HINT_CATALOG, hintKey, shortCode } from '../../lib/hints';

/**
 * Node status at most once per `intervalMs`: under load a status per message costs more than
 * the message itself (an i18n lookup and an editor event each). The last status always lands
 * (a trailing update); `close()` clears the timer.
 */
export class ThrottledStatus {
  private last = 0;
  private pending: (() => NodeStatus) | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly node: NodeInstance, private readonly intervalMs = 500) {}

  /** `make` is called only when the status is actually shown. */
  set(make: () => NodeStatus, now = Date.now()): void {
    if (now - this.last >= this.intervalMs && !this.timer) {
      this.last = now;
      this.node.status(make());
      return;
    }
    this.pending = make;
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        const next = this.pending;
        this.pending = undefined;
        if (next) {
          this.last = Date.now();
          this.node.status(next());
        }
      }, Math.max(0, this.intervalMs - (now - this.last)));
    }
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = undefined;
  }
}

/** Node-RED's status guide: a few words. Texts built at run time go through fit(); lint checks the catalogs. */
export const STATUS_MAX = 32;

export function fit(text: string, max = STATUS_MAX): string {
  const chars = [...String(text)];
  return chars.length <= max ? chars.join('') : `${chars.slice(0, max - 1).join('')}…`;
}

type Translate = (key: string, subs?: Record<string, unknown>) => string;

/**
 * The translated hint for an error (see lib/hints.ts), long or short; undefined when there is none.
 * The texts live in the wechat-config / c4c-config catalogs, reachable from any node of the package.
 */
function hintText(RED: { _: Translate }, err: unknown, short = false, lng?: string): string | undefined {
  const key = hintKey(err);
  if (!key) return undefined;
  const type = HINT_CATALOG[key];
  const path = `${type}.hints.${short ? 'short.' : ''}${key}`;
  const subs = lng ? { lng } : undefined;
  for (const k of [`node-red-contrib-wechat-c4c/${type}:${path}`, path]) {
    const t = RED._(k, subs);
    if (t && t !== k && !t.endsWith(path)) return t;
  }
  return undefined;
}

/**
 * A red status for an error: short code + short translated hint (`C4C 401：用户或密码错误`),
 * at most 32 characters. The full message belongs in done(err) / node.error.
 */
export function errorStatus(RED: { _: Translate }, err: unknown): NodeStatus {
  const code = shortCode(err) || 'error';
  const hint = hintText(RED, err, true);
  return { fill: 'red', shape: 'ring', text: fit(hint ? `${code}：${hint}`.replace(/^([\x00-\x7f]+)：(?=[\x00-\x7f])/, '$1: ') : code) };
}


