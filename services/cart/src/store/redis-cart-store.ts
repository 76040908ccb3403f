// CartStore on Redis. AddItem is one Lua script so the "at most 99 per product, at most 50
// products" rules hold under concurrent adds: the check and the write cannot interleave.
import { openRedis, UnavailableError } from "@shopmesh/mesh";
import type { AddResult, CartLine, CartStore } from "./cart-store.js";

/** Options of the Redis cart store. */
export interface RedisCartStoreOptions {
  /** redis://host:port[/db] */
  url: string;
  /** Key prefix, "cart:" in production; tests use their own. */
  prefix: string;
  /** Cart lifetime after its last change, seconds (7 days by default). */
  ttlSeconds?: number;
  maxQuantity?: number;
  maxItems?: number;
  /** Called on connection errors, for logs. */
  onError?: (err: unknown) => void;
}

// Returns {status, field, value, field, value...}: status 1 = added (then the whole cart),
// -1 = the total would pass the quantity limit (then the current quantity), -2 = too many lines.
const ADD_SCRIPT = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then
  if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[4]) then return {-2} end
  cur = 0
end
local n = tonumber(cur) + tonumber(ARGV[2])
if n > tonumber(ARGV[3]) then return {-1, tostring(cur)} end
redis.call('HSET', KEYS[1], ARGV[1], n)
redis.call('EXPIRE', KEYS[1], ARGV[5])
local all = redis.call('HGETALL', KEYS[1])
table.insert(all, 1, 1)
return all
`;

// KEYS[1] the cart, KEYS[2] the order's marker; ARGV[1] the TTL, then product, quantity pairs.
// The marker and the subtraction are one script, so an order's lines leave the cart once.
const REMOVE_ORDERED_SCRIPT = `
if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[1]) then return 0 end
for i = 2, #ARGV, 2 do
  local n = redis.call('HINCRBY', KEYS[1], ARGV[i], -tonumber(ARGV[i + 1]))
  if n <= 0 then redis.call('HDEL', KEYS[1], ARGV[i]) end
end
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return 1
`;

/** Connects to Redis (waits up to 3 s for the first connection) and returns a CartStore. */
export async function createRedisCartStore(opts: RedisCartStoreOptions): Promise<CartStore> {
  const ttl = opts.ttlSeconds ?? 7 * 24 * 3600;
  const maxQuantity = opts.maxQuantity ?? 99;
  const maxItems = opts.maxItems ?? 50;
  // Cart's commands keep the 2 s timeout they had (order's and payment's have the default 1 s).
  const redis = await openRedis(opts.url, { commandTimeoutMs: 2000, onError: opts.onError, onConnectError: opts.onError });
  const key = (userId: string) => `${opts.prefix}${userId}`;

  // Every Redis failure here is the store being unreachable or overloaded: Unavailable, with
  // the cause kept for the log (the client only sees the message).
  async function call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw new UnavailableError("cart store unavailable", err);
    }
  }

  return {
    async add(userId, productId, quantity): Promise<AddResult> {
      const res = (await call(() =>
        redis.eval(ADD_SCRIPT, 1, key(userId), productId, String(quantity), String(maxQuantity), String(maxItems), String(ttl)),
      )) as (number | string)[];
      if (res[0] === -2) return { ok: false, reason: "item_limit" };
      if (res[0] === -1) return { ok: false, reason: "quantity_limit", current: Number(res[1]) };
      return { ok: true, items: lines(res.slice(1) as string[]) };
    },
    async remove(userId, productId) {
      const res = await call(() => redis.multi().hdel(key(userId), productId).expire(key(userId), ttl).hgetall(key(userId)).exec());
      const all = res?.[2]?.[1] as Record<string, string> | undefined;
      return lines(Object.entries(all ?? {}).flat());
    },
    async get(userId) {
      const all = await call(() => redis.hgetall(key(userId)));
      return lines(Object.entries(all).flat());
    },
    async empty(userId) {
      await call(() => redis.del(key(userId)));
    },
    async removeOrdered(userId, orderId, orderLines) {
      const args = orderLines.flatMap((l) => [l.productId, String(l.quantity)]);
      const res = await call(() => redis.eval(REMOVE_ORDERED_SCRIPT, 2, key(userId), `${opts.prefix}ordered:${orderId}`, String(ttl), ...args));
      return res === 1;
    },
    async close() {
      redis.disconnect();
    },
  };
}

function lines(flat: string[]): CartLine[] {
  const out: CartLine[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push({ productId: flat[i]!, quantity: Number(flat[i + 1]) });
  return out.sort((a, b) => (a.productId < b.productId ? -1 : a.productId > b.productId ? 1 : 0));
}
