// Keeps the view fresh (docs/architecture.md, "The catalog view"): change events as they come, and a
// full reload from the store at start, after the event subscription was lost and came back, and
// every period, since pub/sub drops whatever is published while a subscriber is away.
import { sleep } from "@shopmesh/mesh";
import type { ProductEvents } from "./product-events.js";
import type { ProductRecord } from "./product-store.js";
import type { ProductView } from "./product-view.js";

/** Options of startViewSync. */
export interface ViewSyncOptions {
  view: ProductView;
  events: ProductEvents;
  /** Every product, from the store. */
  load: () => Promise<ProductRecord[]>;
  /** Runs before the first load, again until it succeeds once (seeding). */
  prepare?: () => Promise<void>;
  /** Shortest time between periodic full reloads; the period is at least LOAD_MULTIPLE times the last load. */
  periodMs: number;
  /** First wait before retrying a failed first load; doubles up to 10 s. */
  retryMs?: number;
  /** Told about every failed load; the view keeps what it holds. */
  onError: (err: unknown) => void;
  /** Told about every successful load. */
  onLoad?: (r: { products: number; changed: number; ms: number }) => void;
}

/** A running sync. */
export interface ViewSync {
  /** Settles after the first load attempt: true when it loaded the view. */
  first: Promise<boolean>;
  /** Resolves when the view is loaded (never, when closed before). */
  loaded: Promise<void>;
  /** Stops the timer, the retries and the event subscription; waits for a load under way. */
  close(): Promise<void>;
}

// A periodic reload may take at most 1/50 of the time: on FerretDB a full read of 100,000 products
// takes about 10 s, and 12 s of FerretDB's CPU (docs/architecture.md, "The catalog view").
const LOAD_MULTIPLE = 50;

/** Subscribes to every change, then loads the view, retrying until it can; then reloads every period. */
export async function startViewSync(o: ViewSyncOptions): Promise<ViewSync> {
  const stop = new AbortController();
  let running: Promise<void> | undefined;
  let again = false;
  let lastMs = 0;

  // One load at a time; a load asked for while one runs runs right after it (it may have started too early).
  function reload(): Promise<void> {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          const t0 = performance.now();
          const { changed } = await o.view.reload(o.load);
          lastMs = performance.now() - t0;
          o.onLoad?.({ products: o.view.size, changed, ms: lastMs });
        } while (again && !stop.signal.aborted);
      } finally {
        running = undefined;
      }
    })();
    return running;
  }
  // Subscribed before the first load, so no change falls between the two. Changes published while
  // the subscription was away are lost: reload at once when it is back.
  // (A first load under way may have read the store before that: it runs once more.)
  const leave = await o.events.watchAll((p) => o.view.apply(p), () => {
    if ((o.view.loaded || running) && !stop.signal.aborted) reload().catch(o.onError);
  });

  let prepared = o.prepare === undefined;
  async function attempt(): Promise<boolean> {
    try {
      if (!prepared) {
        await o.prepare!();
        prepared = true;
      }
      await reload();
      return true;
    } catch (err) {
      o.onError(err);
      return false;
    }
  }
  let markLoaded!: () => void;
  const loaded = new Promise<void>((resolve) => { markLoaded = resolve; });
  const first = attempt();
  const retries = (async () => {
    let wait = o.retryMs ?? 500;
    for (let ok = await first; !ok; ok = await attempt()) {
      await sleep(wait, stop.signal);
      wait = Math.min(wait * 2, 10_000);
    }
    markLoaded();
  })().catch(() => { /* closed while retrying */ });
  let timer: NodeJS.Timeout | undefined;
  const schedule = () => {
    if (stop.signal.aborted) return;
    timer = setTimeout(() => {
      if (!o.view.loaded) return schedule();
      reload().catch(o.onError).finally(schedule);
    }, Math.max(o.periodMs, LOAD_MULTIPLE * lastMs));
    timer.unref();
  };
  schedule();

  return {
    first,
    loaded,
    async close() {
      stop.abort();
      clearTimeout(timer);
      leave();
      await retries;
      await running?.catch(() => undefined);
    },
  };
}
