import * as grpc from "@grpc/grpc-js";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { CatalogService } from "@shopmesh/gen/shop/catalog/v2/catalog_pb.js";
import { BadRequestSchema } from "@shopmesh/gen/google/rpc/error_details_pb.js";
import { startBareServer, type BareServer } from "./testing/index.js";
import { createGrpcJsTransport } from "./transport.js";

let server: BareServer;
let seenDeadline: grpc.Deadline | undefined;
let seenHeader: string | undefined;
let cancelled = false;

beforeAll(async () => {
  server = await startBareServer([
    {
      service: CatalogService,
      handlers: {
        getProduct: async (req, call) => {
          const id = (req as { id: string }).id;
          seenDeadline = call.deadline;
          seenHeader = call.metadata.get("x-probe")[0] as string | undefined;
          if (id === "bad") {
            throw new ConnectError("invalid request", Code.InvalidArgument, undefined, [
              { desc: BadRequestSchema, value: { fieldViolations: [{ field: "id", description: "must not be bad" }] } },
            ]);
          }
          if (id === "missing") throw new ConnectError("no product missing", Code.NotFound);
          if (id === "slow") {
            await new Promise((r) => {
              const t = setTimeout(r, 2000);
              call.signal.addEventListener("abort", () => {
                cancelled = true;
                clearTimeout(t);
                r(undefined);
              });
            });
          }
          return { product: { id, name: `product ${id}` } };
        },
        watchProduct: async function* (req) {
          const id = (req as { id: string }).id;
          if (id === "none") throw new ConnectError("no product none", Code.NotFound);
          for (let i = 0; i < 3; i++) yield { product: { id, stock: i } };
        },
      },
    },
  ]);
});
afterAll(() => server.close());

function client() {
  const transport = createGrpcJsTransport({ address: server.address, credentials: grpc.credentials.createInsecure() });
  return { c: createClient(CatalogService, transport), transport };
}

test("a unary call round-trips a message and its headers", async () => {
  const { c, transport } = client();
  const res = await c.getProduct({ id: "p1" }, { headers: { "x-probe": "yes" } });
  expect(res.product?.name).toBe("product p1");
  expect(seenHeader).toBe("yes");
  transport.close();
});

test("an error keeps its code, message and google.rpc.BadRequest details", async () => {
  const { c, transport } = client();
  const err = await c.getProduct({ id: "bad" }).then(() => undefined, (e: unknown) => ConnectError.from(e));
  expect(err?.code).toBe(Code.InvalidArgument);
  expect(err?.rawMessage).toBe("invalid request");
  const [br] = err!.findDetails(BadRequestSchema);
  expect(br?.fieldViolations).toEqual([expect.objectContaining({ field: "id", description: "must not be bad" })]);
  const nf = await c.getProduct({ id: "missing" }).catch((e: unknown) => ConnectError.from(e));
  expect((nf as ConnectError).code).toBe(Code.NotFound);
  transport.close();
});

test("timeoutMs becomes the grpc deadline the server sees, and ends the call on time", async () => {
  const { c, transport } = client();
  await c.getProduct({ id: "p2" }, { timeoutMs: 1500 });
  const remaining = Number(seenDeadline) - Date.now();
  expect(remaining).toBeGreaterThan(1000);
  expect(remaining).toBeLessThanOrEqual(1500);
  const start = Date.now();
  const err = await c.getProduct({ id: "slow" }, { timeoutMs: 100 }).catch((e: unknown) => ConnectError.from(e));
  expect((err as ConnectError).code).toBe(Code.DeadlineExceeded);
  expect(Date.now() - start).toBeLessThan(1000);
  transport.close();
});

test("aborting the signal cancels the call on the server", async () => {
  const { c, transport } = client();
  cancelled = false;
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 50);
  const err = await c.getProduct({ id: "slow" }, { signal: ac.signal }).catch((e: unknown) => ConnectError.from(e));
  expect((err as ConnectError).code).toBe(Code.Canceled);
  await new Promise((r) => setTimeout(r, 50));
  expect(cancelled).toBe(true);
  transport.close();
});

test("a server stream yields every message, and an early error rejects with its code", async () => {
  const { c, transport } = client();
  const stocks: number[] = [];
  for await (const m of c.watchProduct(create((await import("@shopmesh/gen/shop/catalog/v2/catalog_pb.js")).WatchProductRequestSchema, { id: "w" }))) {
    stocks.push(m.product?.stock ?? -1);
  }
  expect(stocks).toEqual([0, 1, 2]);
  const err = await (async () => {
    for await (const _ of c.watchProduct({ id: "none" })) void _;
  })().catch((e: unknown) => ConnectError.from(e));
  expect((err as ConnectError).code).toBe(Code.NotFound);
  transport.close();
});

test("an unreachable upstream is Unavailable", async () => {
  const dead = await startBareServer([]);
  await dead.close();
  const transport = createGrpcJsTransport({ address: dead.address, credentials: grpc.credentials.createInsecure() });
  const c = createClient(CatalogService, transport);
  const err = await c.getProduct({ id: "x" }, { timeoutMs: 2000 }).catch((e: unknown) => ConnectError.from(e));
  expect((err as ConnectError).code).toBe(Code.Unavailable);
  transport.close();
});
