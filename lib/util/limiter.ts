/**
 * At most `max` tasks at once; the rest wait in arrival order, `priority` tasks ahead of the
 * others (work that finishes something already started goes before work that starts something new).
 */
export class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly urgent: (() => void)[] = [];

  constructor(private readonly max: number) {}

  get running(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length + this.urgent.length;
  }

  async run<T>(task: () => Promise<T>, priority = false): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((resolve) => (priority ? this.urgent : this.waiting).push(resolve));
    else this.active++;
    try {
      return await task();
    } finally {
      const next = this.urgent.shift() ?? this.waiting.shift();
      if (next) next(); // the slot passes straight to the next task
      else this.active--;
    }
  }
}

/** Runs tasks for the same key one after another; different keys run freely. */
export class KeyedSerializer {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task, task);
    const tail = result.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  get size(): number {
    return this.tails.size;
  }
}
