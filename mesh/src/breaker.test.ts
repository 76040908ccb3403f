import * as grpc from "@grpc/grpc-js";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { CatalogService } from "@shopmesh/gen/shop/catalog/v2/catalog_pb.js";
import { createBreaker, createBreakerInterceptor, type Breaker, type BreakerOptions } from "./breaker.js";
import { startBareServer, type BareServer } from "./testing/index.js";
import { createGrpcJsTransport } from "./transport.js";

// The upstream answers according to the requested id, and counts what reached it.
let server: BareServer;
let reached = 0;
const codeOf: Record<string, Code> = {
  down: Code.Unavailable,
  nf: Code.NotFound,
  inv: Code.InvalidArgument,
  pre: Code.FailedPrecondition,
  perm: Code.PermissionDenied,
  internal: Code.Internal,
};

beforeAll(async () => {
  server = await startBareServer([
    {
      service: CatalogService,
      handlers: {
        getProduct: async (req) => {
          reached++;
          const id = (req as { id: string }).id;
          const code = codeOf[id];
          if (code !== undefined) throw new ConnectError(`answer ${id}`, code);
          return { product: { id } };
        },
      },
    },
  ]);
});
afterAll(() => server.close());

const breakers: Breaker[] = [];
const transports: { close(): void }[] = [];
afterEach(() => {
  breakers.splice(0).forEach((b) => b.shutdown());
  transports.splice(0).forEach((t) => t.close());
});

function guarded(opts: BreakerOptions) {
  const breaker = createBreaker("catalog", opts);
  const transport = createGrpcJsTransport({
    address: server.address,
    credentials: grpc.credentials.createInsecure(),
    interceptors: [createBreakerInterceptor(breaker)],
  });
  breakers.push(breaker);
  transports.push(transport);
  const client = createClient(CatalogService, transport);
  const call = (id: string) =>
    client.getProduct({ id }, { timeoutMs: 2000 }).then(
      () => 0, // 0 is OK
      (e: unknown) => ConnectError.from(e).code as number,
    );
  return { breaker, call };
}

test("opens after the configured failures, then fails fast without reaching the upstream", async () => {
  const { breaker, call } = guarded({ volumeThreshold: 5, errorThresholdPercentage: 50, resetTimeoutMs: 60_000 });
  for (let i = 0; i < 4; i++) expect(await call("down")).toBe(Code.Unavailable);
  expect(breaker.state()).toBe("closed"); // below the volume threshold
  expect(await call("down")).toBe(Code.Unavailable);
  expect(breaker.state()).toBe("open");

  // Baseline: a real round trip to a healthy upstream through another (closed) breaker.
  const healthy = guarded({});
  const rt: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t = process.hrtime.bigint();
    await healthy.call("ok");
    rt.push(Number(process.hrtime.bigint() - t) / 1e6);
  }

  const before = reached;
  const ff: number[] = [];
  let message = "";
  for (let i = 0; i < 1000; i++) {
    const t = process.hrtime.bigint();
    const err = await breaker.run(() => Promise.resolve("never")).catch((e: unknown) => e as ConnectError);
    ff.push(Number(process.hrtime.bigint() - t) / 1e6);
    message = (err as ConnectError).rawMessage;
    expect((err as ConnectError).code).toBe(Code.Unavailable);
  }
  expect(await call("ok")).toBe(Code.Unavailable); // also through the client stack
  expect(reached).toBe(before);
  expect(message).toBe("circuit open for catalog");
  const q = (a: number[], p: number) => [...a].sort((x, y) => x - y)[Math.floor(a.length * p)]!;
  console.log(
    `open breaker fast-fail: median ${(q(ff, 0.5) * 1000).toFixed(1)} µs, p99 ${(q(ff, 0.99) * 1000).toFixed(1)} µs; ` +
      `healthy round trip: median ${(q(rt, 0.5) * 1000).toFixed(0)} µs`,
  );
  expect(q(ff, 0.5)).toBeLessThan(q(rt, 0.5));
  expect(q(ff, 0.99)).toBeLessThan(20); // loose: the machine is shared, GC pauses land in the tail
});

// Opens a breaker of volume threshold 2 with two failures, then waits out its reset.
async function halfOpened(resetTimeoutMs: number) {
  const g = guarded({ volumeThreshold: 2, errorThresholdPercentage: 50, resetTimeoutMs });
  await g.call("down");
  await g.call("down");
  expect(g.breaker.state()).toBe("open");
  await new Promise((r) => setTimeout(r, resetTimeoutMs + 50));
  expect(g.breaker.state()).toBe("halfOpen");
  return g;
}

test("half-open lets one probe through: a success closes it, a failure reopens it", async () => {
  const { breaker, call } = await halfOpened(150);
  expect(await call("down")).toBe(Code.Unavailable); // the probe fails
  expect(breaker.state()).toBe("open");
  await new Promise((r) => setTimeout(r, 200));
  expect(breaker.state()).toBe("halfOpen");
  expect(await call("ok")).toBe(0);
  expect(breaker.state()).toBe("closed");
  // A closed breaker starts from a clean window: with the three old failures still counted,
  // this failure would make 4 of 7 and reopen it; without them it is 1 of 4.
  expect(await call("ok")).toBe(0);
  expect(await call("ok")).toBe(0);
  expect(await call("down")).toBe(Code.Unavailable);
  expect(breaker.state()).toBe("closed");
  expect(await call("ok")).toBe(0);
});

test("half-open: a business error answering the probe closes it (the upstream answered)", async () => {
  const { breaker, call } = await halfOpened(100);
  expect(await call("nf")).toBe(Code.NotFound);
  expect(breaker.state()).toBe("closed");
  expect(breaker.window()).toEqual({ calls: 0, failures: 0 });
});

test("storms of business errors leave it closed and are not counted", async () => {
  const { breaker, call } = guarded({ volumeThreshold: 5, errorThresholdPercentage: 10 });
  for (let i = 0; i < 100; i++) {
    expect(await call(["nf", "inv", "pre", "perm"][i % 4]!)).not.toBe(0);
  }
  expect(breaker.state()).toBe("closed");
  expect(breaker.window()).toEqual({ calls: 0, failures: 0 });
  expect(await call("ok")).toBe(0);
});

test("business errors do not hide a real outage (60% business + 40% Unavailable, 30% threshold)", async () => {
  const { breaker, call } = guarded({ volumeThreshold: 10, errorThresholdPercentage: 30, resetTimeoutMs: 60_000 });
  const pattern = ["nf", "down", "inv", "down", "nf", "inv", "down", "nf", "inv", "down"];
  let opened = -1;
  for (let i = 0; i < 100 && opened < 0; i++) {
    await call(pattern[i % pattern.length]!);
    if (breaker.state() === "open") opened = i;
  }
  expect(opened).toBeGreaterThanOrEqual(0);
});

test("a low outage share among many business errors still opens it (opossum's own rate would not)", async () => {
  // 85% NotFound, 10% Unavailable, 5% OK: opossum's failures/fires would be 10% < 30%, but among
  // calls that say anything about the upstream's health, 2 in 3 fail.
  const { breaker, call } = guarded({ volumeThreshold: 6, errorThresholdPercentage: 30, resetTimeoutMs: 60_000 });
  const pattern = [...Array<string>(17).fill("nf"), "down", "down", "ok"];
  let calls = 0;
  while (breaker.state() !== "open" && calls < 200) {
    await call(pattern[calls % pattern.length]!);
    calls++;
  }
  expect(breaker.state()).toBe("open");
  const w = breaker.window();
  expect(w.failures / w.calls).toBeGreaterThanOrEqual(0.3);
});

test("Internal and DeadlineExceeded trip it too", async () => {
  const { breaker, call } = guarded({ volumeThreshold: 4, errorThresholdPercentage: 100, resetTimeoutMs: 60_000 });
  await call("internal");
  await call("internal");
  const err = await breaker
    .run(() => Promise.reject(new ConnectError("slow", Code.DeadlineExceeded)))
    .catch((e: unknown) => e as ConnectError);
  expect(err.code).toBe(Code.DeadlineExceeded);
  expect(breaker.state()).toBe("closed");
  await call("internal");
  expect(breaker.state()).toBe("open");
});
