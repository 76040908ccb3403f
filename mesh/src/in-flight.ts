// The work a process is running, by key, so a duplicate of a running call can wait for its
// promise (sleep.ts waitFor) instead of doing the work again: order's sagas by order id, payment's
// decisions by idempotency key.

/** Promises in flight, by key; each is forgotten once it settles. */
export class InFlight<T> {
  private readonly running = new Map<string, Promise<T>>();

  /** Starts `work` under `key` and returns its promise. A later run under the key takes its place. */
  run(key: string, work: () => Promise<T>): Promise<T> {
    const p = work();
    this.running.set(key, p);
    void p.catch(() => undefined).finally(() => {
      if (this.running.get(key) === p) this.running.delete(key);
    });
    return p;
  }

  /** The promise running under `key`, if any. */
  get(key: string): Promise<T> | undefined {
    return this.running.get(key);
  }

  has(key: string): boolean {
    return this.running.has(key);
  }
}
