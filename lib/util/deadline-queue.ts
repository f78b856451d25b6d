/**
 * Items that must be looked at once a fixed delay has passed since their start (every item gets the
 * same delay; the queue is kept in deadline order). One timer ticks every `tickMs` while the queue is not empty,
 * instead of a timer and a listener per item: under load that is most of the cost of an
 * ack timeout. Items already settled when their turn comes are handed to `onSettled`.
 */
export class DeadlineQueue<T> {
  private items: { item: T; due: number }[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly delayMs: number,
    private readonly tickMs: number,
    private readonly hooks: { isSettled(item: T): boolean; onSettled?(item: T): void; onExpired(item: T): void },
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.items.length - this.head;
  }

  /** `startMs`: when the delay started (e.g. the request's arrival); default now. */
  push(item: T, startMs?: number): void {
    const now = this.now();
    const start = startMs !== undefined && Number.isFinite(startMs) && startMs <= now ? startMs : now;
    const due = start + this.delayMs;
    // A start in the past (a request whose body took long to arrive) may be due before items
    // pushed earlier: it goes in deadline order, else it would wait behind them. Usually the end.
    let at = this.items.length;
    while (at > this.head && this.items[at - 1].due > due) at--;
    if (at === this.items.length) this.items.push({ item, due });
    else this.items.splice(at, 0, { item, due });
    if (!this.timer) this.schedule();
  }

  /** Process what is due now; settled items at the front are released early. */
  tick(): void {
    const now = this.now();
    while (this.head < this.items.length) {
      const slot = this.items[this.head];
      const settled = this.hooks.isSettled(slot.item);
      if (!settled && slot.due > now) break;
      this.head++;
      if (settled) this.hooks.onSettled?.(slot.item);
      else this.hooks.onExpired(slot.item);
    }
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  /** Drain everything (on close): each item goes to onSettled or onExpired as it stands. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (let i = this.head; i < this.items.length; i++) {
      const { item } = this.items[i];
      if (this.hooks.isSettled(item)) this.hooks.onSettled?.(item);
      else this.hooks.onExpired(item);
    }
    this.items = [];
    this.head = 0;
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.tick();
      if (this.size > 0) this.schedule();
    }, this.tickMs);
  }
}
