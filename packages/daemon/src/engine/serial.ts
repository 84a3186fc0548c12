// Ordering primitives for the engine: one operation per container at a time, GC alone, and a bounded number of
// concurrent delegate executions in which DEL and CHECK go ahead of ADD.

/** Runs tasks for the same key one after another (FIFO); different keys run concurrently. */
export class KeyedMutex {
  readonly #tails = new Map<string, Promise<unknown>>();

  get activeKeys(): number {
    return this.#tails.size;
  }

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const result = previous.then(task, task);
    // The stored tail never rejects, so a failed task does not poison the queue of its key.
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }
}

/**
 * A readers-writer gate: ADD/DEL/CHECK enter shared, GC enters exclusive (CNI spec: GC must not run concurrently
 * with ADD/DEL for the same network). Writers are preferred so a stream of ADDs cannot starve GC forever.
 */
export class SharedExclusiveGate {
  #shared = 0;
  #exclusive = false;
  #waiting: { exclusive: boolean; wake: () => void }[] = [];

  async shared<T>(task: () => Promise<T>): Promise<T> {
    if (this.#exclusive || this.#waiting.some((w) => w.exclusive)) {
      await new Promise<void>((wake) => this.#waiting.push({ exclusive: false, wake }));
    } else {
      this.#shared++;
    }
    try {
      return await task();
    } finally {
      this.#shared--;
      this.#drain();
    }
  }

  async exclusive<T>(task: () => Promise<T>): Promise<T> {
    if (this.#exclusive || this.#shared > 0 || this.#waiting.length > 0) {
      await new Promise<void>((wake) => this.#waiting.push({ exclusive: true, wake }));
    } else {
      this.#exclusive = true;
    }
    try {
      return await task();
    } finally {
      this.#exclusive = false;
      this.#drain();
    }
  }

  #drain(): void {
    if (this.#exclusive) return;
    while (this.#waiting.length > 0) {
      const next = this.#waiting[0]!;
      if (next.exclusive) {
        if (this.#shared > 0) return;
        this.#waiting.shift();
        this.#exclusive = true;
        next.wake();
        return;
      }
      this.#waiting.shift();
      this.#shared++;
      next.wake();
    }
  }
}

export type Priority = 'high' | 'normal';

export class LimiterTimeoutError extends Error {
  override readonly name = 'LimiterTimeoutError';
}

interface Waiter {
  wake: () => void;
  fail: (err: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Bounds concurrent work (delegate executions). High-priority waiters (DEL, CHECK) are always served before
 * normal ones (ADD), so teardown is never stuck behind a burst of ADDs. A waiter past its deadline fails.
 */
export class PriorityLimiter {
  readonly limit: number;
  #running = 0;
  readonly #queues: Record<Priority, Waiter[]> = { high: [], normal: [] };

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError(`limit must be a positive integer, got ${limit}`);
    this.limit = limit;
  }

  get running(): number {
    return this.#running;
  }

  get queued(): number {
    return this.#queues.high.length + this.#queues.normal.length;
  }

  async run<T>(priority: Priority, waitMs: number, task: () => Promise<T>): Promise<T> {
    await this.#acquire(priority, waitMs);
    try {
      return await task();
    } finally {
      this.#release();
    }
  }

  #acquire(priority: Priority, waitMs: number): Promise<void> {
    if (this.#running < this.limit && this.queued === 0) {
      this.#running++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const queue = this.#queues[priority];
      const waiter: Waiter = {
        wake: resolve,
        fail: reject,
        timer: undefined,
      };
      if (Number.isFinite(waitMs)) {
        waiter.timer = setTimeout(() => {
          const i = queue.indexOf(waiter);
          if (i >= 0) queue.splice(i, 1);
          reject(
            new LimiterTimeoutError(`waited ${waitMs} ms for a free execution slot (limit ${this.limit})`),
          );
        }, waitMs);
      }
      queue.push(waiter);
    });
  }

  #release(): void {
    const next = this.#queues.high.shift() ?? this.#queues.normal.shift();
    if (next) {
      if (next.timer) clearTimeout(next.timer);
      next.wake(); // the slot passes straight to the next waiter
    } else {
      this.#running--;
    }
  }
}
