import type { NodeInstance, NodeStatus } from './types';

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
