// Breakers as createClient wires them, against real grpc-js servers on loopback: what a deadline
// failure says about the upstream (issue 14, item 7) and one breaker per replica (item 8).
import * as grpc from "@grpc/grpc-js";
import { Code, ConnectError } from "@connectrpc/connect";
import { CatalogService } from "@shopmesh/gen/shop/catalog/v2/catalog_pb.js";
import { isCircuitOpen } from "./breaker.js";
import { breakerOf, closeClients, createClient, type ClientOptions } from "./client.js";
import { defaultLimits, trustPolicy, type MeshConfig } from "./config.js";
import { runWithInboundCall } from "./context.js";
import { sleep } from "./sleep.js";
import { startBareServer, type BareServer } from "./testing/index.js";
import { loadTopology } from "./topology.js";
import { meshRegistry } from "./metrics.js";

// Plaintext servers: the credentials are overridden, so no TLS material is needed.
const config: MeshConfig = {
  mode: "local", name: "order", certDir: undefined, tls: undefined, jwt: {}, topology: loadTopology(), limits: defaultLimits,
  trust: trustPolicy("local", loadTopology()),
};
const insecure = grpc.credentials.createInsecure();

// A catalog whose GetProduct answers with `answer(id)`.
function catalogServer(answer: (id: string, signal: AbortSignal) => Promise<unknown>): Promise<BareServer> {
  const getProduct = (req: unknown, call: { signal: AbortSignal }) => answer((req as { id: string }).id, call.signal);
  return startBareServer([{ service: CatalogService, handlers: { getProduct } }]);
}

// The upstream answers by the requested id: "slow" after 60 ms, "hang" after 2 s, "down" Unavailable.
let server: BareServer;
beforeAll(async () => {
  server = await catalogServer(async (id, signal) => {
    if (id === "down") throw new ConnectError("down", Code.Unavailable);
    if (id === "slow") await sleep(60, signal).catch(() => undefined);
    if (id === "hang") await sleep(2000, signal).catch(() => undefined);
    return { product: { id } };
  });
});
afterAll(async () => {
  closeClients();
  await server.close();
});

// A GetProduct call's outcome: "OK" or the code's name.
const outcome = (p: Promise<unknown>) => p.then(() => "OK", (e: unknown) => Code[ConnectError.from(e).code]);

function client(target: string, breaker: ClientOptions["breaker"]) {
  const opts = { target, address: server.address, config, credentials: insecure, retry: false as const, breaker };
  const c = createClient(CatalogService, opts);
  return { call: (id: string) => outcome(c.getProduct({ id })), breaker: () => breakerOf(opts)! };
}

// Runs fn as if inside a handler whose own caller left it `budgetMs` (what the deadline interceptor inherits).
function within<T>(budgetMs: number, fn: () => Promise<T>): Promise<T> {
  return runWithInboundCall({
    path: "/shop.order.v1.OrderService/GetOrder", deadline: Date.now() + budgetMs, signal: new AbortController().signal,
    authorization: undefined, traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7", traceFlags: "01",
    tracestate: undefined, user: undefined, caller: "edge",
  }, fn);
}

describe("a deadline the caller spent is not the upstream's failure (item 7)", () => {
  test("20 DeadlineExceeded on a 20 ms inherited budget leave the breaker to a healthy upstream closed", async () => {
    const { call, breaker } = client("catalog-spent", { volumeThreshold: 5, errorThresholdPercentage: 50, resetTimeoutMs: 60_000 });
    const codes: string[] = [];
    for (let i = 0; i < 20; i++) codes.push(await within(20, () => call("slow")));
    // Every one failed on the caller's clock, none was refused by an open breaker.
    expect(codes).toEqual(Array<string>(20).fill("DeadlineExceeded"));
    expect(breaker().state()).toBe("closed");
    expect(breaker().window()).toEqual({ calls: 0, failures: 0 });
    expect(await call("slow")).toBe("OK");
  });

  test("a hanging upstream still opens it when the calls had a fair budget (300 ms inherited)", async () => {
    const { call, breaker } = client("catalog-hang", { volumeThreshold: 5, errorThresholdPercentage: 50, resetTimeoutMs: 60_000 });
    const codes = await Promise.all(Array.from({ length: 5 }, () => within(300, () => call("hang"))));
    expect(codes).toEqual(Array<string>(5).fill("DeadlineExceeded"));
    expect(breaker().state()).toBe("open");
    expect(breaker().window()).toEqual({ calls: 5, failures: 5 });
  });

  test("a half-open probe that runs out of its caller's budget frees the probe slot: the next call probes", async () => {
    const { call, breaker } = client("catalog-probe", { volumeThreshold: 2, errorThresholdPercentage: 50, resetTimeoutMs: 150 });
    expect(await call("down")).toBe("Unavailable");
    expect(await call("down")).toBe("Unavailable");
    expect(breaker().state()).toBe("open");
    await sleep(200);
    expect(breaker().state()).toBe("halfOpen");
    // The probe (20 ms left of its caller's budget, upstream takes 60): while it runs, one probe only.
    const probe = within(20, () => call("slow"));
    expect(await call("slow")).toBe("Unavailable");
    expect(await probe).toBe("DeadlineExceeded");
    // Neither success nor failure: still half-open, and the next call is the new probe.
    expect(breaker().state()).toBe("halfOpen");
    expect(await call("slow")).toBe("OK");
    expect(breaker().state()).toBe("closed");
  });
});

describe("one breaker per replica (item 8)", () => {
  // Two replicas on their own free ports behind one `ipv4:a,b` target, as the runner writes CATALOG_ADDR.
  async function replicas(answerOfBad: (id: string) => Promise<unknown>) {
    const hits = { bad: 0, good: 0 };
    const bad = await catalogServer((id) => (hits.bad++, answerOfBad(id)));
    const good = await catalogServer(async (id) => (hits.good++, { product: { id } }));
    const opts = {
      target: "catalog", address: `ipv4:${bad.address},${good.address}`, config, credentials: insecure,
      breaker: { volumeThreshold: 4, errorThresholdPercentage: 50, resetTimeoutMs: 300 },
    };
    const c = createClient(CatalogService, opts);
    const call = (id: string) => outcome(c.getProduct({ id }));
    const breakerAt = (s: BareServer) => breakerOf({ ...opts, endpoint: s.address })!;
    const calls = async (n: number) => {
      const codes: string[] = [];
      for (let i = 0; i < n; i++) codes.push(await call(`p${i}`));
      return codes;
    };
    return { c, hits, bad, good, call, calls, breakerAt, close: () => Promise.all([bad.close(), good.close()]) };
  }
  afterEach(() => closeClients());

  test("a replica answering Internal trips only its own breaker; the other serves every call, and the first gets traffic again after its reset", async () => {
    let failing = true;
    const r = await replicas(async (id) => {
      if (failing) throw new ConnectError("boom", Code.Internal);
      return { product: { id } };
    });
    try {
      for (let i = 0; i < 40 && r.breakerAt(r.bad).state() !== "open"; i++) await r.call(`warm${i}`);
      expect(r.breakerAt(r.bad).state()).toBe("open");
      const before = { ...r.hits };
      const codes = await r.calls(50);
      expect(codes.filter((c) => c !== "OK")).toEqual([]);
      expect(r.hits.good - before.good).toBe(50);
      expect(r.hits.bad - before.bad).toBe(0);
      expect(r.breakerAt(r.good).state()).toBe("closed");
      expect(r.breakerAt(r.good).window().failures).toBe(0);
      const text = await meshRegistry.metrics();
      expect(text).toContain(`shop_breaker_state{target="catalog",endpoint="${r.bad.address}"} 2`);
      expect(text).toContain(`shop_breaker_state{target="catalog",endpoint="${r.good.address}"} 0`);

      // Recovered: after its reset, its probe succeeds and it is back in the rotation.
      failing = false;
      await sleep(350);
      const after = { ...r.hits };
      expect((await r.calls(20)).filter((c) => c !== "OK")).toEqual([]);
      expect(r.breakerAt(r.bad).state()).toBe("closed");
      // Round robin again: half of the 20, give or take the probe.
      expect(r.hits.bad - after.bad).toBeGreaterThanOrEqual(9);
    } finally {
      await r.close();
    }
  });

  test("a replica whose port is closed costs no failed call: the attempt is retried on the other", async () => {
    const r = await replicas(async (id) => ({ product: { id } }));
    await r.bad.close();
    try {
      expect((await r.calls(30)).filter((c) => c !== "OK")).toEqual([]);
      expect(r.hits.good).toBe(30);
      expect(r.hits.bad).toBe(0);
    } finally {
      await r.close();
    }
  });

  test("when every replica's breaker is open, a call fails at once with Unavailable, nothing sent", async () => {
    // Both unwell: the first answers Internal, the second's port is closed.
    const r = await replicas(() => Promise.reject(new ConnectError("boom", Code.Internal)));
    await r.good.close();
    try {
      for (let i = 0; i < 40 && (r.breakerAt(r.bad).state() !== "open" || r.breakerAt(r.good).state() !== "open"); i++) {
        await r.call(`warm${i}`);
      }
      expect([r.breakerAt(r.bad).state(), r.breakerAt(r.good).state()]).toEqual(["open", "open"]);
      const hits = { ...r.hits };
      const start = Date.now();
      const err = await r.c.getProduct({ id: "x" }).catch((e: unknown) => ConnectError.from(e));
      expect(Date.now() - start).toBeLessThan(50); // no backoff, no attempt
      expect(err).toBeInstanceOf(ConnectError);
      expect((err as ConnectError).code).toBe(Code.Unavailable);
      expect(isCircuitOpen(err as ConnectError)).toBe(true);
      expect(r.hits).toEqual(hits);
    } finally {
      await r.close();
    }
  });
});
