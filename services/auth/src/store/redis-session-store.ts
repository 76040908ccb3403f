// SessionStore and LoginLimiter on Redis. Refresh tokens are kept only as SHA-256 hashes, so a
// leaked Redis dump holds nothing a client could present.
import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import type { LoginLimiter, RefreshLookup, SessionStore } from "./session-store.js";

/** Options shared by the Redis-backed auth stores. */
export interface RedisAuthStoreOptions {
  /** A connected ioredis client (its owner closes it). */
  redis: Redis;
  /** Key prefix, e.g. "auth:". */
  prefix: string;
}

// Rotation must be one atomic step: two concurrent Refresh calls with the same token must not
// both get a successor. Reading the family key inside the script is fine on a single Redis
// (the family id is only known after reading the token record).
const ROTATE = `
local t = redis.call('HMGET', KEYS[1], 'u', 'f', 'used')
if not t[1] then return {'invalid'} end
local fam = ARGV[1] .. t[2]
if t[3] == '1' then
  redis.call('DEL', fam)
  return {'reused', t[1], t[2]}
end
if redis.call('EXISTS', fam) == 0 then return {'invalid'} end
redis.call('HSET', KEYS[1], 'used', '1')
redis.call('HSET', KEYS[2], 'u', t[1], 'f', t[2], 'used', '0')
redis.call('EXPIRE', KEYS[2], ARGV[2])
redis.call('EXPIRE', fam, ARGV[2])
return {'active', t[1], t[2]}
`;

/** Refresh-token families in Redis; ttlSeconds is the sliding lifetime of a family. */
export function createRedisSessionStore(opts: RedisAuthStoreOptions & { ttlSeconds: number }): SessionStore {
  const { redis, prefix, ttlSeconds } = opts;
  const tokenKey = (hash: string) => `${prefix}rt:${hash}`;
  const familyKey = (id: string) => `${prefix}fam:${id}`;
  return {
    async startFamily(tokenHash, userId, familyId) {
      await redis.multi()
        .set(familyKey(familyId), userId, "EX", ttlSeconds)
        .hset(tokenKey(tokenHash), { u: userId, f: familyId, used: "0" })
        .expire(tokenKey(tokenHash), ttlSeconds)
        .exec();
    },
    async rotate(tokenHash, nextTokenHash): Promise<RefreshLookup> {
      const r = (await redis.eval(ROTATE, 2, tokenKey(tokenHash), tokenKey(nextTokenHash), `${prefix}fam:`,
        String(ttlSeconds))) as string[];
      if (r[0] === "active" || r[0] === "reused") return { state: r[0], userId: r[1]!, familyId: r[2]! };
      return { state: "invalid" };
    },
    async revokeFamily(familyId) {
      await redis.del(familyKey(familyId));
    },
    async familyOf(tokenHash) {
      return (await redis.hget(tokenKey(tokenHash), "f")) ?? undefined;
    },
  };
}

/** Fixed-window attempt counter per email; the email is hashed so keys carry no personal data. */
export function createRedisLoginLimiter(opts: RedisAuthStoreOptions & { windowSeconds: number }): LoginLimiter {
  const { redis, prefix, windowSeconds } = opts;
  const key = (email: string) => `${prefix}login-fail:${createHash("sha256").update(email).digest("hex")}`;
  return {
    async attempt(email) {
      // EXPIRE NX starts the window at the first attempt and never extends it.
      const res = await redis.multi().incr(key(email)).expire(key(email), windowSeconds, "NX").exec();
      const [err, count] = res?.[0] ?? [new Error("redis transaction aborted"), 0];
      if (err) throw err;
      return Number(count);
    },
    async reset(email) {
      await redis.del(key(email));
    },
  };
}
