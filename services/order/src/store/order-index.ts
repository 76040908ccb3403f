// Derived data in Redis, rebuilt from Mongo whenever it may be incomplete: a view of each order
// (GetOrder), each user's orders by time (ListOrders), and the orders that still need work (the
// sweeper). FerretDB 1.x answers a filter on userId only by reading every order, so these keep
// the reads flat as orders pile up. Mongo stays the truth: a final view is immutable (facts never
// change) and so never stale; a PENDING view is a hint, checked against Mongo. Being immutable,
// the last final views read or written are also kept in this process (`cachedFinal`), so a read of
// a recent order needs no Redis value and no JSON parse, and its record object, reused, is
// encoded for the response once (handlers.ts).
import type { Redis } from "ioredis";
import type { ListCursor, OrderRecord } from "./order-store.js";

/** The Redis index of orders. Every method reports failures as undefined/false, never throws. */
export interface OrderIndex {
  /** Records the order's current view; false when Redis failed (the index is then incomplete). */
  put(o: OrderRecord): Promise<boolean>;
  get(id: string): Promise<OrderRecord | undefined>;
  /** The user's order ids, newest first, strictly after `after`; undefined when Redis failed or is not built. */
  listIds(userId: string, limit: number, after?: ListCursor): Promise<string[] | undefined>;
  getMany(ids: string[]): Promise<(OrderRecord | undefined)[] | undefined>;
  /** Orders whose work is due (lease over, or a refund owed), oldest first. */
  due(now: Date, limit: number): Promise<string[]>;
  /** Takes an order off the work list. */
  done(id: string): Promise<void>;
  /** True once a rebuild completed and no write has failed since. */
  isComplete(): Promise<boolean>;
  /** Sets or clears the "complete" mark; false when Redis failed. */
  markComplete(complete: boolean): Promise<boolean>;
}

/** Options of the Redis order index. */
export interface RedisOrderIndexOptions {
  redis: Redis;
  /** Key prefix, "order:" in production. */
  prefix: string;
  /** How many final views this process keeps (0 = none). */
  cachedFinal: number;
  onError?: (err: unknown, op: string) => void;
}

/** Creates the Redis order index. */
export function createRedisOrderIndex(opts: RedisOrderIndexOptions): OrderIndex {
  const { redis, prefix } = opts;
  const report = opts.onError ?? (() => {});
  const viewKey = (id: string) => `${prefix}view:${id}`;
  const userKey = (u: string) => `${prefix}user:${u}`;
  const workKey = `${prefix}work`;
  const completeKey = `${prefix}index-complete`;
  const finals = new FinalViews(opts.cachedFinal);
  async function guarded<T>(op: string, fallback: T, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      report(err, op);
      return fallback;
    }
  }
  return {
    put: (o) => guarded("put", false, async () => {
      // NX for what a PENDING view says: it must never overwrite a final view, nor move an order
      // in its user's list or on the work list (a duplicate call writes one too).
      const pending = o.status === "PENDING";
      const m = redis.multi();
      if (pending) m.set(viewKey(o.id), JSON.stringify(o), "NX");
      else m.set(viewKey(o.id), JSON.stringify(o));
      m.zadd(userKey(o.userId), "NX", o.createdAt.getTime(), o.id);
      // A FAILED order that holds a charge owes its refund until the sweeper confirms it.
      if (pending) m.zadd(workKey, "NX", o.leaseUntil.getTime(), o.id);
      else if (o.status === "FAILED" && o.chargeId) m.zadd(workKey, 0, o.id);
      else m.zrem(workKey, o.id);
      const res = await m.exec();
      if (!res || res.some(([e]) => e)) throw new Error("order index write failed");
      finals.keep(o);
      return true;
    }),
    get: (id) => guarded("get", undefined, async () => {
      const kept = finals.get(id);
      if (kept) return kept;
      const raw = await redis.get(viewKey(id));
      return raw ? finals.keep(revive(raw)) : undefined;
    }),
    listIds: (userId, limit, after) => guarded("list", undefined, async () => {
      // The complete mark and the range in one round trip. The first page is the newest `limit`
      // ids; after a cursor, same-millisecond orders sort by id, and the ones at the cursor's time
      // already shown are skipped.
      if (limit <= 0) return [];
      const m = redis.pipeline().get(completeKey);
      if (after) m.zrevrangebyscore(userKey(userId), String(after.createdAt.getTime()), "-inf", "WITHSCORES", "LIMIT", 0, limit + 100);
      else m.zrevrange(userKey(userId), 0, limit - 1);
      const res = await m.exec();
      const failed = res?.find(([e]) => e)?.[0];
      if (!res || failed) throw failed ?? new Error("order index read failed");
      if (res[0]![1] !== "1") return undefined;
      const rows = res[1]![1] as string[];
      if (!after) return rows;
      const ids: string[] = [];
      for (let i = 0; i < rows.length && ids.length < limit; i += 2) {
        const id = rows[i]!;
        if (Number(rows[i + 1]) === after.createdAt.getTime() && id >= after.id) continue;
        ids.push(id);
      }
      return ids;
    }),
    getMany: (ids) => guarded("getMany", undefined, async () => {
      const views = ids.map((id) => finals.get(id));
      const missing = ids.filter((_, i) => views[i] === undefined);
      if (missing.length === 0) return views;
      const raws = await redis.mget(missing.map(viewKey));
      let next = 0;
      return views.map((v) => {
        if (v) return v;
        const raw = raws[next++];
        return raw ? finals.keep(revive(raw)) : undefined;
      });
    }),
    due: (now, limit) => guarded("due", [], () => redis.zrangebyscore(workKey, "-inf", String(now.getTime()), "LIMIT", 0, limit)),
    done: (id) => guarded("done", undefined, async () => void (await redis.zrem(workKey, id))),
    isComplete: () => guarded("isComplete", false, async () => (await redis.get(completeKey)) === "1"),
    markComplete: (complete) => guarded("markComplete", false, async () => {
      if (complete) await redis.set(completeKey, "1");
      else await redis.del(completeKey);
      return true;
    }),
  };
}

/** The last `max` final views, by order id; the oldest read or written is dropped first. */
class FinalViews {
  private readonly views = new Map<string, OrderRecord>();
  constructor(private readonly max: number) {}
  get(id: string): OrderRecord | undefined {
    const v = this.views.get(id);
    if (v) {
      // Map keeps insertion order: move it to the newest end.
      this.views.delete(id);
      this.views.set(id, v);
    }
    return v;
  }
  /** Keeps `o` when it is final; returns it. */
  keep(o: OrderRecord): OrderRecord {
    if (o.status === "PENDING" || this.max === 0) return o;
    this.views.delete(o.id);
    this.views.set(o.id, o);
    if (this.views.size > this.max) this.views.delete(this.views.keys().next().value!);
    return o;
  }
}

function revive(raw: string): OrderRecord {
  const o = JSON.parse(raw) as OrderRecord & { createdAt: string; leaseUntil: string };
  return { ...o, createdAt: new Date(o.createdAt), leaseUntil: new Date(o.leaseUntil) };
}
