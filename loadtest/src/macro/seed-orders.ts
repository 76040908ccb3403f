// make bench's "at 50k" phase: stores enough orders and users for the reads and checkout to be
// measured as a shop that has been running a while. It inserts what the services themselves would
// have inserted for each order (order's reservation and CONFIRMED outcome, payment's attempt and
// SUCCEEDED outcome, the processor's capture), so the three books still balance, and users the way
// auth stores them, each with its email entry (they cannot log in: their password hash is no
// hash). Idempotent: it counts first and adds only what is missing. Then it drops order's "index
// complete" mark, so order's sweeper rebuilds the Redis index from Mongo, and waits for it: the
// seeded orders become listable.
import { Redis } from "ioredis";
import { MongoClient } from "mongodb";

/** Options of seedOrders. */
export interface SeedOptions {
  mongoUrl: string;
  redisUrl: string;
  /** Orders the shop should hold at least. */
  orders: number;
  /** Users the shop should hold at least; the seeded orders are spread over the seeded users. */
  users: number;
  /** How long to wait for order's index rebuild, ms. */
  rebuildTimeoutMs?: number;
}

/** What seeding did. */
export interface SeedResult {
  ordersBefore: number;
  usersBefore: number;
  ordersAdded: number;
  usersAdded: number;
  seedSeconds: number;
  /** Order's Redis index rebuild after seeding (0 when nothing was added). */
  rebuildSeconds: number;
}

const BATCH = 1000;

/** Brings the stores up to the given counts (see the file comment). */
export async function seedOrders(o: SeedOptions): Promise<SeedResult> {
  const client = await MongoClient.connect(o.mongoUrl);
  const redis = new Redis(o.redisUrl, { lazyConnect: true });
  const t0 = performance.now();
  try {
    const orderDb = client.db("shop_order");
    const paymentDb = client.db("shop_payment");
    const ledger = client.db("shop_payment_processor");
    const users = client.db("shop_auth").collection("users");
    const emails = client.db("shop_auth").collection("user_emails");
    const ordersBefore = await orderDb.collection("orders").countDocuments();
    const usersBefore = await users.countDocuments();
    const usersAdded = Math.max(0, o.users - usersBefore);
    const ordersAdded = Math.max(0, o.orders - ordersBefore);
    const createTime = new Date();
    for (let start = 0; start < usersAdded; start += BATCH) {
      const n = Math.min(BATCH, usersAdded - start);
      await users.insertMany(Array.from({ length: n }, (_, i) => {
        const id = `seed-user-${usersBefore + start + i}`;
        return { _id: id as never, email: `${id}@seed.shop.local`, displayName: id, roles: [], passwordHash: "!seeded: no login", createTime };
      }), { ordered: false });
      // And each one's email entry, as auth inserts it after the user (services/auth/src/store/
      // mongo-user-store.ts): a login reads it first, so its size is part of what a login costs.
      await emails.insertMany(Array.from({ length: n }, (_, i) => {
        const id = `seed-user-${usersBefore + start + i}`;
        return { _id: `${id}@seed.shop.local` as never, userId: id };
      }), { ordered: false });
    }
    const userCount = Math.max(o.users, 1);
    for (let start = 0; start < ordersAdded; start += BATCH) {
      const n = Math.min(BATCH, ordersAdded - start);
      const rows = Array.from({ length: n }, (_, i) => {
        const k = ordersBefore + start + i;
        const id = `ord_seed${k}`;
        const at = new Date(createTime.getTime() - (ordersAdded - start - i) * 1000);
        return { id, userId: `seed-user-${k % userCount}`, at, total: 1000 + (k % 50) * 100 };
      });
      await orderDb.collection("orders").insertMany(rows.map((r) => ({
        _id: r.id as never, userId: r.userId, requestId: `seed-${r.id}`, currency: "USD", totalMinor: r.total,
        items: [{ productId: "seed", name: "Seeded item", quantity: 1, unitPriceMinor: r.total }], createdAt: r.at, leaseUntil: r.at,
      })), { ordered: false });
      await orderDb.collection("outcomes").insertMany(rows.map((r) => ({ _id: r.id as never, status: "CONFIRMED", chargeId: `ch_seed_${r.id}`, at: r.at })), { ordered: false });
      await paymentDb.collection("charges").insertMany(rows.map((r) => ({
        _id: `ch_seed_${r.id}` as never, key: r.id, amountMinor: r.total, currency: "USD", cardLast4: "4242", cardHash: "seed", createdAt: r.at,
      })), { ordered: false });
      await paymentDb.collection("outcomes").insertMany(rows.map((r) => ({ _id: `ch_seed_${r.id}` as never, status: "SUCCEEDED", at: r.at })), { ordered: false });
      await ledger.collection("entries").insertMany(rows.map((r) => ({ _id: r.id as never, kind: "capture", amountMinor: r.total, currency: "USD", at: r.at })), { ordered: false });
    }
    const seedSeconds = (performance.now() - t0) / 1000;
    let rebuildSeconds = 0;
    if (ordersAdded > 0) {
      await redis.connect();
      const t1 = performance.now();
      await redis.del("order:index-complete");
      const until = Date.now() + (o.rebuildTimeoutMs ?? 300_000);
      while ((await redis.get("order:index-complete")) !== "1") {
        if (Date.now() > until) throw new Error("order did not rebuild its Redis index in time");
        await new Promise((r) => setTimeout(r, 500));
      }
      rebuildSeconds = (performance.now() - t1) / 1000;
    }
    return { ordersBefore, usersBefore, ordersAdded, usersAdded, seedSeconds: round1(seedSeconds), rebuildSeconds: round1(rebuildSeconds) };
  } finally {
    redis.disconnect();
    await client.close();
  }
}

const round1 = (n: number) => Math.round(n * 10) / 10;
