// The user-journey load generator: N virtual users each log in, then loop until the run ends:
// browse the catalog, look at products, add to the cart, look at the cart, check out, with think
// time between steps. Like a Locust user, over gRPC through the edge. Reports orders/s and latency
// percentiles per step. The "checkout" profile (add then place, no think time) is the PlaceOrder
// benchmark of make bench.
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { CartService } from "@shopmesh/gen/shop/cart/v1/cart_pb.js";
import { CatalogService } from "@shopmesh/gen/shop/catalog/v2/catalog_pb.js";
import { OrderService, OrderStatus } from "@shopmesh/gen/shop/order/v1/order_pb.js";
import { CallError, createEdgeClient, type EdgeClient } from "./edge-client.js";
import { summarize, type LatencySummary } from "./latency.js";
import { emptyCarts, listProductIds } from "./shop-setup.js";
import { ensureUsers, type LoadUser } from "./users.js";

/** Options of runJourney. */
export interface JourneyOptions {
  /** The edge, host:port. */
  edge: string;
  /** Virtual users, each with its own account. */
  users: number;
  /** Run length, milliseconds; each user finishes the step it is in, then stops. */
  durationMs: number;
  /** Mean think time between steps, ms (each pause is 0.5x to 1.5x of it); 0 for none. */
  thinkMs: number;
  /** "browse": the whole journey. "checkout": add one item and place the order, over and over. */
  profile: "browse" | "checkout";
  /** Where user credentials are remembered between runs. */
  usersFile: string;
  /** HTTP/2 connections the users share. Default 4. */
  connections?: number;
  /** Users already logged in (from ensureUsers), so a measured run spends no CPU on logins. */
  loggedIn?: LoadUser[];
}

/** What a journey run measured. */
export interface JourneyResult {
  /** Options of the run (without file paths). */
  profile: string;
  /** Virtual users. */
  users: number;
  /** Measured time, seconds (from the first user's start to the last user's stop). */
  elapsedSeconds: number;
  /** Orders placed and CONFIRMED. */
  orders: number;
  /** Confirmed orders per second. */
  ordersPerSecond: number;
  /** Latency per step, milliseconds (successful calls). */
  steps: Record<string, LatencySummary>;
  /** Failed calls, keyed "step:CODE". */
  errors: Record<string, number>;
}

/** Runs the virtual users against the edge and returns what they measured. */
export async function runJourney(o: JourneyOptions): Promise<JourneyResult> {
  const clients: EdgeClient[] = Array.from({ length: o.connections ?? 4 }, () =>
    createEdgeClient({ address: o.edge, ownConnection: true }),
  );
  try {
    const setup = clients[0]!;
    const productIds = await listProductIds(setup);
    if (productIds.length === 0) throw new Error("the catalog has no products");
    const users = o.loggedIn?.slice(0, o.users) ?? await ensureUsers(setup, { count: o.users, file: o.usersFile });
    // A cart left over from an earlier, interrupted run would change what the first order buys.
    await emptyCarts(setup, users.map((u) => u.token));

    const samples = new Map<string, number[]>();
    const errors: Record<string, number> = {};
    let orders = 0;
    const pick = () => productIds[Math.floor(Math.random() * productIds.length)]!;
    const think = () => (o.thinkMs > 0 ? sleep(o.thinkMs * (0.5 + Math.random())) : Promise.resolve());

    const started = performance.now();
    const deadline = started + o.durationMs;
    // Times one call; a failed call is counted by code and ends the user's current iteration.
    const step = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
      const t = performance.now();
      try {
        const res = await fn();
        let list = samples.get(name);
        if (!list) samples.set(name, (list = []));
        list.push(performance.now() - t);
        return res;
      } catch (err) {
        const code = err instanceof CallError ? err.code : "CLIENT_ERROR";
        errors[`${name}:${code}`] = (errors[`${name}:${code}`] ?? 0) + 1;
        throw err;
      }
    };

    const virtualUser = async (i: number) => {
      const client = clients[i % clients.length]!;
      const token = users[i]!.token;
      // Stagger the start over the first think time, as real users do not arrive at once.
      if (o.thinkMs > 0) await sleep(Math.random() * o.thinkMs);
      while (performance.now() < deadline) {
        try {
          if (o.profile === "browse") {
            await step("list", () => client.call(CatalogService.method.listProducts, { pageSize: 20 }));
            await think();
            for (let k = 0; k < 2; k++) {
              await step("view", () => client.call(CatalogService.method.getProduct, { id: pick() }));
              await think();
            }
          }
          const adds = o.profile === "browse" ? 1 + Math.floor(Math.random() * 2) : 1;
          for (let k = 0; k < adds; k++) {
            await step("add", () => client.call(CartService.method.addItem, { productId: pick(), quantity: 1 }, { token }));
            await think();
          }
          if (o.profile === "browse") {
            await step("cart", () => client.call(CartService.method.getCart, {}, { token }));
            await think();
          }
          const placed = await step("checkout", () =>
            client.call(
              OrderService.method.placeOrder,
              {
                requestId: crypto.randomUUID(),
                card: { number: "4242424242424242", cvv: "123", expirationYear: 2030, expirationMonth: 12 },
              },
              { token },
            ),
          );
          if (placed.order?.status === OrderStatus.CONFIRMED) orders++;
          else errors["checkout:NOT_CONFIRMED"] = (errors["checkout:NOT_CONFIRMED"] ?? 0) + 1;
          await think();
        } catch {
          // Counted in step(); pause so a failing mesh is not hammered in a tight loop.
          await sleep(Math.max(50, o.thinkMs));
          // A failed step may leave items behind; start the next iteration from an empty cart.
          await client.call(CartService.method.emptyCart, {}, { token }).catch(() => undefined);
        }
      }
    };
    await Promise.all(users.map((_, i) => virtualUser(i)));
    const elapsedSeconds = (performance.now() - started) / 1000;
    const steps: Record<string, LatencySummary> = {};
    for (const [name, list] of samples) steps[name] = summarize(list);
    return {
      profile: o.profile,
      users: o.users,
      elapsedSeconds: Math.round(elapsedSeconds * 100) / 100,
      orders,
      ordersPerSecond: Math.round((orders / elapsedSeconds) * 10) / 10,
      steps,
      errors,
    };
  } finally {
    for (const c of clients) c.close();
  }
}

/** Formats a journey result as a terminal table. */
export function formatJourney(r: JourneyResult): string {
  const rows = Object.entries(r.steps).map(([name, s]) =>
    `${name.padEnd(9)} ${String(s.count).padStart(7)} ${s.p50.toFixed(2).padStart(8)} ${s.p90.toFixed(2).padStart(8)} ${s.p99.toFixed(2).padStart(8)} ${s.max.toFixed(2).padStart(8)}`,
  );
  const errs = Object.entries(r.errors).map(([k, n]) => `${k}=${n}`).join(" ") || "0";
  return [
    `${r.users} users (${r.profile}) for ${r.elapsedSeconds} s: ${r.orders} orders, ${r.ordersPerSecond} orders/s, errors ${errs}`,
    `step        calls   p50 ms   p90 ms   p99 ms   max ms`,
    ...rows,
  ].join("\n");
}

function parseDurationMs(text: string): number {
  const m = /^(\d+)(ms|s|m)$/.exec(text);
  if (!m) throw new Error(`JOURNEY_DURATION must look like 30s, 500ms or 2m, got "${text}"`);
  return Number(m[1]) * (m[2] === "ms" ? 1 : m[2] === "s" ? 1000 : 60_000);
}

function intEnv(key: string, fallback: number, min: number, max: number): number {
  const raw = process.env[key];
  if (!raw) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${key} must be an integer from ${min} to ${max}, got "${raw}"`);
  return n;
}

async function main(): Promise<void> {
  const outDir = resolve(process.env.LOADTEST_OUT || ".run/loadtest");
  const edge = process.env.LOADTEST_EDGE || "127.0.0.1:8080";
  if (!/^(127\.\d+\.\d+\.\d+|localhost):\d+$/.test(edge)) throw new Error(`LOADTEST_EDGE must be a loopback host:port, got "${edge}"`);
  const profile = process.env.JOURNEY_PROFILE === "checkout" ? "checkout" : "browse";
  mkdirSync(outDir, { recursive: true });
  const result = await runJourney({
    edge,
    users: intEnv("JOURNEY_USERS", 20, 1, 1000),
    durationMs: parseDurationMs(process.env.JOURNEY_DURATION || "30s"),
    thinkMs: intEnv("JOURNEY_THINK_MS", 500, 0, 60_000),
    profile,
    usersFile: join(outDir, "users.json"),
  });
  writeFileSync(join(outDir, "journey.json"), JSON.stringify({ date: new Date().toISOString(), ...result }, null, 2) + "\n");
  console.log(formatJourney(result));
  if (Object.keys(result.errors).length) process.exitCode = 1;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    console.error(`journey: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
