import * as grpc from "@grpc/grpc-js";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { CatalogService } from "@shopmesh/gen/shop/catalog/v2/catalog_pb.js";
import { CartService } from "@shopmesh/gen/shop/cart/v1/cart_pb.js";
import { startBareServer, type BareServer } from "./testing/index.js";
import { createDeadlineInterceptor } from "./deadline.js";
import { createRetryInterceptor, type RetryOptions } from "./retry.js";
import { createGrpcJsTransport } from "./transport.js";

// Attempts per request id as the upstream saw them.
const attempts = new Map<string, number>();
let server: BareServer;

beforeAll(async () => {
  const count = (id: string) => {
    const n = (attempts.get(id) ?? 0) + 1;
    attempts.set(id, n);
    return n;
  };
  server = await startBareServer([
    {
      service: CatalogService,
      handlers: {
        getProduct: async (req) => {
          const id = (req as { id: string }).id;
          const n = count(id);
          if (id.startsWith("flaky") && n <= 2) throw new ConnectError("try again", Code.Unavailable);
          if (id.startsWith("down")) throw new ConnectError("down", Code.Unavailable);
          if (id.startsWith("slowdown")) {
            await new Promise((r) => setTimeout(r, 40));
            throw new ConnectError("down", Code.Unavailable);
          }
          if (id.startsWith("shed")) throw new ConnectError("overloaded", Code.ResourceExhausted);
          return { product: { id } };
        },
      },
    },
    {
      service: CartService,
      handlers: {
        addItem: async (req) => {
          count((req as { productId: string }).productId);
          throw new ConnectError("down", Code.Unavailable);
        },
      },
    },
  ]);
});
afterAll(() => server.close());

const transports: { close(): void }[] = [];
afterEach(() => transports.splice(0).forEach((t) => t.close()));

function clients(opts: RetryOptions, defaultTimeoutMs = 2000) {
  let retries = 0;
  const transport = createGrpcJsTransport({
    address: server.address,
    credentials: grpc.credentials.createInsecure(),
    interceptors: [
      createDeadlineInterceptor({ defaultTimeoutMs }),
      createRetryInterceptor({ ...opts, onRetry: () => retries++ }),
    ],
  });
  transports.push(transport);
  return {
    catalog: createClient(CatalogService, transport),
    cart: createClient(CartService, transport),
    retries: () => retries,
  };
}
const codeOf = (p: Promise<unknown>) => p.then(() => 0, (e: unknown) => ConnectError.from(e).code as number);

test("an idempotent read is retried on Unavailable, up to 3 attempts", async () => {
  const c = clients({ initialBackoffMs: 5 });
  expect(await codeOf(c.catalog.getProduct({ id: "flaky-1" }))).toBe(0);
  expect(attempts.get("flaky-1")).toBe(3);
  expect(await codeOf(c.catalog.getProduct({ id: "down-1" }))).toBe(Code.Unavailable);
  expect(attempts.get("down-1")).toBe(3);
  expect(c.retries()).toBe(4);
});

test("a method without an idempotency level is never retried", async () => {
  const c = clients({ initialBackoffMs: 5 });
  expect(await codeOf(c.cart.addItem({ productId: "add-1", quantity: 1 }))).toBe(Code.Unavailable);
  expect(attempts.get("add-1")).toBe(1);
  expect(c.retries()).toBe(0);
});

test("ResourceExhausted (load shedding) is not retried", async () => {
  const c = clients({ initialBackoffMs: 5 });
  expect(await codeOf(c.catalog.getProduct({ id: "shed-1" }))).toBe(Code.ResourceExhausted);
  expect(attempts.get("shed-1")).toBe(1);
});

test("the retry budget keeps retries at most 20% of calls plus the burst", async () => {
  const c = clients({ initialBackoffMs: 0, budgetRatio: 0.2, budgetBurst: 10 });
  let upstream = 0;
  for (let i = 0; i < 200; i++) {
    await codeOf(c.catalog.getProduct({ id: `down-b${i}` }));
    upstream += attempts.get(`down-b${i}`) ?? 0;
  }
  // Without a budget a total outage would cost 600 attempts (3 per call).
  expect(c.retries()).toBeLessThanOrEqual(0.2 * 200 + 10);
  expect(c.retries()).toBeGreaterThanOrEqual(0.2 * 200 - 1);
  expect(upstream).toBe(200 + c.retries());
});

test("a retry never starts past the deadline", async () => {
  // The backoff (about 300 ms) does not fit in the 100 ms deadline: the first error is final.
  const c = clients({ initialBackoffMs: 300, random: () => 0.99 }, 100);
  const start = Date.now();
  expect(await codeOf(c.catalog.getProduct({ id: "down-d1" }))).toBe(Code.Unavailable);
  expect(Date.now() - start).toBeLessThan(100);
  expect(attempts.get("down-d1")).toBe(1);

  // Slow failures: attempts stop at the deadline, and the call ends with it.
  const c2 = clients({ initialBackoffMs: 1, maxAttempts: 10 }, 100);
  const start2 = Date.now();
  const code = await codeOf(c2.catalog.getProduct({ id: "slowdown-d2" }));
  const elapsed = Date.now() - start2;
  expect([Code.Unavailable, Code.DeadlineExceeded]).toContain(code);
  expect(elapsed).toBeLessThan(180);
  expect(attempts.get("slowdown-d2")).toBeLessThanOrEqual(3);
});
