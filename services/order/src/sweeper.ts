// The sweeper: settles the orders nobody is placing any more, so none stays PENDING after a crash
// or an outage (lease + one interval: about 35 s by default). It works from the Redis work list,
// bounded to `batch` orders a round, and never charges: it asks payment what became of each key
// (ResolveCharge) and inserts that outcome, or retries a refund a FAILED order owes. Every step is
// idempotent, so two sweepers (two replicas) only repeat each other. It also rebuilds the Redis
// index from Mongo when the index may be incomplete (first start, Redis lost, a failed write).
import { Counter, type Registry } from "prom-client";
import type { Logger } from "@shopmesh/mesh";
import type { Orders } from "./domain/orders.js";
import type { OrderIndex } from "./store/order-index.js";
import type { OrderStore } from "./store/order-store.js";

/** Options of the sweeper. */
export interface SweeperOptions {
  orders: Orders;
  store: OrderStore;
  index: OrderIndex;
  /** Pause between rounds, ms. */
  intervalMs: number;
  /** Most orders looked at per round. */
  batch: number;
  registry: Registry;
  log: Logger;
}

/** A running sweeper. */
export interface Sweeper {
  /** One round now (tests, and the loop itself). */
  runOnce(): Promise<void>;
  stop(): Promise<void>;
}

const METRIC = "shop_order_sweeper_total";

function counter(registry: Registry): Counter<"result"> {
  const existing = registry.getSingleMetric(METRIC) as Counter<"result"> | undefined;
  return existing ?? new Counter({
    name: METRIC, help: "Orders the sweeper handled, by result (confirmed, failed, refunded, pending, skipped, rebuilt).",
    labelNames: ["result"], registers: [registry],
  });
}

/** Starts the sweeper loop. */
export function startSweeper(opts: SweeperOptions): Sweeper {
  const { orders, store, index, log } = opts;
  const handled = counter(opts.registry);
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let round: Promise<void> = Promise.resolve();

  async function rebuildIfNeeded(): Promise<void> {
    if (!orders.indexDirty() && (await index.isComplete())) return;
    // Marked incomplete first, so readers use Mongo while the index fills. With Redis down there
    // is nothing to fill: no scan of every order each round.
    if (!(await index.markComplete(false))) return;
    let ok = true;
    let n = 0;
    await store.scanAll(async (o) => {
      ok = (await index.put(o)) && ok;
      n++;
    });
    if (!ok) return;
    orders.markIndexClean();
    await index.markComplete(true);
    handled.inc({ result: "rebuilt" }, n);
    log.info({ orders: n }, "order index rebuilt from MongoDB");
  }

  async function runOnce(): Promise<void> {
    try {
      await rebuildIfNeeded();
    } catch (err) {
      log.warn({ err }, "order index rebuild failed; reads use MongoDB until it succeeds");
    }
    const now = Date.now();
    for (const id of await index.due(new Date(now), opts.batch)) {
      if (stopped) return;
      try {
        const o = await store.find(id);
        if (!o) {
          await index.done(id);
        } else if (o.status === "PENDING") {
          if (orders.inFlight(id) || o.leaseUntil.getTime() > now) {
            handled.inc({ result: "skipped" });
            continue;
          }
          const settled = await orders.settleAbandoned(o);
          handled.inc({ result: settled.status.toLowerCase() });
        } else if (o.status === "FAILED" && o.chargeId) {
          await orders.refundOwed(o);
          handled.inc({ result: "refunded" });
        } else {
          await index.done(id);
        }
      } catch (err) {
        log.warn({ err, orderId: id }, "sweeper could not settle an order; next round retries");
      }
    }
  }

  const loop = () => {
    if (stopped) return;
    round = runOnce().finally(() => {
      if (!stopped) timer = setTimeout(loop, opts.intervalMs);
    });
  };
  timer = setTimeout(loop, Math.min(opts.intervalMs, 1000));
  return {
    runOnce,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await round;
    },
  };
}
