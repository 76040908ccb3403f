// make bench's read measures off the checkout path: GetOrder and ListOrders, each called `calls`
// times with `concurrency` in flight through the edge, by users who have placed orders; and
// Login once per such user.
// Latency of successful calls only; failures are counted by code.
import { AuthService } from "@shopmesh/gen/shop/auth/v1/auth_pb.js";
import { OrderService } from "@shopmesh/gen/shop/order/v1/order_pb.js";
import { CallError, type EdgeClient } from "../edge-client.js";
import { summarize, type LatencySummary } from "../latency.js";
import type { LoadUser } from "../users.js";

/** What the read measures saw. */
export interface ReadsResult {
  getOrder: LatencySummary;
  listOrders: LatencySummary;
  login: LatencySummary;
  errors: Record<string, number>;
}

/** Measures the reads for the load users in `usersFile` (they exist after a journey). */
export async function measureReads(client: EdgeClient, o: { users: LoadUser[]; calls: number; concurrency: number }): Promise<ReadsResult> {
  const { users } = o;
  const errors: Record<string, number> = {};
  const orderOf = new Map<string, string>();
  for (const u of users) {
    const page = await client.call(OrderService.method.listOrders, { pageSize: 1 }, { token: u.token });
    if (page.orders[0]) orderOf.set(u.token, page.orders[0].id);
  }
  const withOrders = users.filter((u) => orderOf.has(u.token));
  if (withOrders.length === 0) throw new Error("no load user has an order yet: run the checkout rounds first");
  const run = async (name: string, call: (i: number) => Promise<unknown>, calls = o.calls): Promise<LatencySummary> => {
    const samples: number[] = [];
    let next = 0;
    await Promise.all(Array.from({ length: o.concurrency }, async () => {
      for (let i = next++; i < calls; i = next++) {
        const t = performance.now();
        try {
          await call(i);
          samples.push(performance.now() - t);
        } catch (err) {
          const code = err instanceof CallError ? err.code : "CLIENT_ERROR";
          errors[`${name}:${code}`] = (errors[`${name}:${code}`] ?? 0) + 1;
        }
      }
    }));
    return summarize(samples);
  };
  const user = (i: number) => withOrders[i % withOrders.length]!;
  return {
    getOrder: await run("GetOrder", (i) => client.call(OrderService.method.getOrder, { orderId: orderOf.get(user(i).token)! }, { token: user(i).token })),
    listOrders: await run("ListOrders", (i) => client.call(OrderService.method.listOrders, { pageSize: 20 }, { token: user(i).token })),
    // Once per user: auth limits login attempts per email.
    login: await run("Login", (i) => client.call(AuthService.method.login, { email: user(i).email, password: user(i).password }), withOrders.length),
    errors,
  };
}
