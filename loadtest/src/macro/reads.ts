// make bench's read measures off the checkout path: GetOrder and ListOrders, each called `calls`
// times with `concurrency` in flight through the edge, by users who have placed orders; and
// Login once per such user, one at a time, each followed by scrypt alone with the parameters auth
// stored, so what a login costs beyond its hash shows apart from it.
// Latency of successful calls only; failures are counted by code.
import { randomBytes, scrypt } from "node:crypto";
import { MongoClient } from "mongodb";
import { AuthService } from "@shopmesh/gen/shop/auth/v1/auth_pb.js";
import { OrderService } from "@shopmesh/gen/shop/order/v1/order_pb.js";
import { CallError, type EdgeClient } from "../edge-client.js";
import { summarize, type LatencySummary } from "../latency.js";
import type { LoadUser } from "../users.js";

/** What the read measures saw. */
export interface ReadsResult {
  getOrder: LatencySummary;
  listOrders: LatencySummary;
  /** One login at a time. */
  login: LatencySummary;
  /** scrypt alone in this process, once after each login, with the parameters of a load user's stored hash. */
  scrypt: LatencySummary;
  errors: Record<string, number>;
}

/** Measures the reads for the load users in `usersFile` (they exist after a journey). */
export async function measureReads(client: EdgeClient, o: { users: LoadUser[]; calls: number; concurrency: number; mongoUrl: string }): Promise<ReadsResult> {
  const { users } = o;
  const errors: Record<string, number> = {};
  const orderOf = new Map<string, string>();
  for (const u of users) {
    const page = await client.call(OrderService.method.listOrders, { pageSize: 1 }, { token: u.token });
    if (page.orders[0]) orderOf.set(u.token, page.orders[0].id);
  }
  const withOrders = users.filter((u) => orderOf.has(u.token));
  if (withOrders.length === 0) throw new Error("no load user has an order yet: run the checkout rounds first");
  const failed = (name: string, err: unknown) => {
    const code = err instanceof CallError ? err.code : "CLIENT_ERROR";
    errors[`${name}:${code}`] = (errors[`${name}:${code}`] ?? 0) + 1;
  };
  const run = async (name: string, call: (i: number) => Promise<unknown>): Promise<LatencySummary> => {
    const samples: number[] = [];
    let next = 0;
    await Promise.all(Array.from({ length: o.concurrency }, async () => {
      for (let i = next++; i < o.calls; i = next++) {
        const t = performance.now();
        try {
          await call(i);
          samples.push(performance.now() - t);
        } catch (err) {
          failed(name, err);
        }
      }
    }));
    return summarize(samples);
  };
  const user = (i: number) => withOrders[i % withOrders.length]!;
  const getOrder = await run("GetOrder", (i) => client.call(OrderService.method.getOrder, { orderId: orderOf.get(user(i).token)! }, { token: user(i).token }));
  const listOrders = await run("ListOrders", (i) => client.call(OrderService.method.listOrders, { pageSize: 20 }, { token: user(i).token }));
  // Once per user (auth limits login attempts per email), one at a time (ten in flight measured
  // how scrypt queues on two cores, not the lookup), each login followed by one scrypt hash here,
  // so both see the machine in the same state.
  const hash = await scryptLike(o.mongoUrl, withOrders[0]!.email);
  const logins: number[] = [];
  const hashes: number[] = [];
  for (const u of withOrders) {
    let t = performance.now();
    try {
      await client.call(AuthService.method.login, { email: u.email, password: u.password });
      logins.push(performance.now() - t);
    } catch (err) {
      failed("Login", err);
    }
    t = performance.now();
    await hash();
    hashes.push(performance.now() - t);
  }
  return { getOrder, listOrders, login: summarize(logins), scrypt: summarize(hashes), errors };
}

/** One scrypt hash, with the cost parameters stored in `email`'s password hash. */
async function scryptLike(mongoUrl: string, email: string): Promise<() => Promise<void>> {
  const mongo = new MongoClient(mongoUrl, { serverSelectionTimeoutMS: 5000 });
  let stored: string | undefined;
  try {
    // The filter on email scans on FerretDB; once, outside any measure.
    const doc = await mongo.db("shop_auth").collection<{ email: string; passwordHash: string }>("users").findOne({ email: { $eq: email } });
    stored = doc?.passwordHash;
  } finally {
    await mongo.close();
  }
  const parts = stored?.split("$") ?? [];
  if (parts.length !== 6 || parts[0] !== "scrypt") throw new Error(`no scrypt hash stored for ${email}`);
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  return () => new Promise<void>((resolve, reject) => scrypt("a password of twenty", randomBytes(16), 32, { N, r, p, maxmem: 256 * N * r },
    (err) => (err ? reject(err) : resolve())));
}
