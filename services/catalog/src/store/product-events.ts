// Product change events over Redis pub/sub, on channel "catalog:product:<id>". One subscriber
// connection per process fans messages out to every local watcher of that product, and to the
// view, which takes every product's changes through one pattern subscription.
import type { Redis } from "ioredis";
import { UnavailableError } from "@shopmesh/mesh";
import { decodeProduct, encodeProduct } from "./product-codec.js";
import type { ProductRecord } from "./product-store.js";

/** Publishes and subscribes to product changes. */
export interface ProductEvents {
  /** Announces a stored product; throws when Redis is unreachable. */
  publish(p: ProductRecord): Promise<void>;
  /** Calls listener with every change of the product until the returned function is called. */
  subscribe(id: string, listener: (p: ProductRecord) => void): Promise<() => Promise<void>>;
  /**
   * Calls listener with every product's changes until the returned function is called. Resolves
   * after the first attempt to subscribe (at most 2 s: Redis may be down). Afterwards onResubscribed
   * runs each time the subscription is live again after its connection dropped, or for the first
   * time when that first attempt failed: changes published in between were missed.
   */
  watchAll(listener: (p: ProductRecord) => void, onResubscribed: () => void): Promise<() => void>;
  /** Closes the subscriber connection. */
  close(): Promise<void>;
}

/** Options of the Redis event bus. */
export interface RedisProductEventsOptions {
  /** The shared client, used to publish and as the template of the subscriber connection. */
  redis: Redis;
  /** Channel prefix, "catalog:" in production. */
  prefix: string;
}

/** Creates the event bus; the subscriber connection opens on the first subscribe. */
export function createRedisProductEvents(opts: RedisProductEventsOptions): ProductEvents {
  const channel = (id: string) => `${opts.prefix}product:${id}`;
  const listeners = new Map<string, Set<(p: ProductRecord) => void>>();
  const everyone = new Set<(p: ProductRecord) => void>();
  let sub: Redis | undefined;

  function subscriber(): Redis {
    if (!sub) {
      // A connection in subscribe mode can run no other command, so it must be its own.
      sub = opts.redis.duplicate();
      sub.on("error", () => { /* reconnects by itself; callers see failures on subscribe */ });
      sub.on("message", (ch: string, message: string) => {
        const p = decodeProduct(message);
        if (!p) return;
        for (const l of listeners.get(ch) ?? []) l(p);
      });
      sub.on("pmessage", (_pattern: string, _ch: string, message: string) => {
        const p = decodeProduct(message);
        if (!p) return;
        for (const l of everyone) l(p);
      });
    }
    return sub;
  }

  // Each channel's SUBSCRIBE is awaited by every watcher that joins, so nobody reads the current
  // product before the subscription is live (which could lose a change in between).
  const subscribed = new Map<string, Promise<void>>();

  return {
    async publish(p) {
      await opts.redis.publish(channel(p.id), encodeProduct(p));
    },
    async subscribe(id, listener) {
      const ch = channel(id);
      const s = subscriber();
      let set = listeners.get(ch);
      if (!set) {
        set = new Set();
        listeners.set(ch, set);
        subscribed.set(ch, (async () => {
          await whenReady(s, 2_000);
          await s.subscribe(ch);
        })());
      }
      set.add(listener);
      const mine = set;
      const leave = async () => {
        mine.delete(listener);
        if (mine.size === 0 && listeners.get(ch) === mine) {
          listeners.delete(ch);
          subscribed.delete(ch);
          if (s.status === "ready") await s.unsubscribe(ch).catch(() => undefined);
        }
      };
      try {
        await subscribed.get(ch);
      } catch (err) {
        await leave();
        throw new UnavailableError("product changes cannot be watched right now", err);
      }
      return leave;
    },
    async watchAll(listener, onResubscribed) {
      const s = subscriber();
      const pattern = `${opts.prefix.replace(/[*?[\]\\]/g, "\\$&")}product:*`;
      everyone.add(listener);
      let attempted = false;
      // Every (re)connect subscribes again (once more than ioredis's own resubscribe: harmless).
      const onReady = () => {
        s.psubscribe(pattern).then(() => {
          if (attempted) onResubscribed();
        }, () => { /* the next ready tries again */ });
      };
      s.on("ready", onReady);
      try {
        await whenReady(s, 2_000);
        await s.psubscribe(pattern);
      } catch {
        // Redis is down: onReady subscribes when it is back, and tells the caller.
      }
      attempted = true;
      return () => {
        everyone.delete(listener);
        s.off("ready", onReady);
        if (s.status === "ready") s.punsubscribe(pattern).catch(() => undefined);
      };
    },
    async close() {
      everyone.clear();
      listeners.clear();
      subscribed.clear();
      sub?.disconnect();
      sub = undefined;
    },
  };
}

/** Resolves when the connection is ready; rejects after timeoutMs (a dead Redis fails fast). */
async function whenReady(r: Redis, timeoutMs: number): Promise<void> {
  if (r.status === "ready") return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { r.off("ready", onReady); reject(new Error(`redis ${r.status}`)); }, timeoutMs);
    const onReady = () => { clearTimeout(timer); resolve(); };
    r.once("ready", onReady);
  });
}
