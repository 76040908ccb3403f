// ghz against real grpc-js servers on loopback: the pipeline make loadtest relies on (template
// round robin of users, JSON report, ghz's HTML page rendered from it, the summary row).
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import grpc from "@grpc/grpc-js";
import { GetProductResponseSchema, ProductSchema } from "@shopmesh/gen/shop/catalog/v2/catalog_pb.js";
import { PlaceOrderRequestSchema, PlaceOrderResponseSchema } from "@shopmesh/gen/shop/order/v1/order_pb.js";
import { startEchoServer } from "./echo-server.js";
import { renderHtml, runGhz } from "./ghz.js";
import { loadScenarios } from "./loadtest.js";
import { renderScenario } from "./scenario.js";
import { summarizeReport } from "./summary.js";

const root = join(import.meta.dirname, "../..");
const ghz = join(root, ".bin/ghz");
const protoset = join(root, "gen/shop.binpb");
const ghzHtml = join(root, ".run/loadtest/bin/ghz-html");
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "loadtest-ghz-"));
  // make loadtest builds it; a test run from a clean tree builds it the same way (offline, cached).
  if (!existsSync(ghzHtml)) {
    execFileSync("go", ["build", "-o", ghzHtml, "."], { cwd: join(root, "loadtest/ghz-html"), timeout: 50_000 });
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const maybe = existsSync(ghz) ? it : it.skip;

describe("ghz runs", () => {
  maybe("load a bare echo server for a bounded time and yield JSON, HTML and a summary row", async () => {
    const response = toBinary(
      GetProductResponseSchema,
      create(GetProductResponseSchema, { product: create(ProductSchema, { id: "P1", name: "thing" }) }),
    );
    const echo = await startEchoServer({ path: "/shop.catalog.v2.CatalogService/GetProduct", response });
    try {
      const jsonOut = join(dir, "echo.json");
      const started = Date.now();
      const report = await runGhz({
        ghz, protoset, target: `127.0.0.1:${echo.port}`, call: "shop.catalog.v2.CatalogService/GetProduct",
        data: '{"id":"P1"}', duration: "1s", concurrency: 4, name: "echo-test", jsonOut,
      });
      expect(Date.now() - started).toBeLessThan(15_000);
      const html = join(dir, "echo.html");
      await renderHtml(ghzHtml, jsonOut, html);
      const row = summarizeReport("echo-test", report, html);
      expect(row.count).toBeGreaterThan(50);
      expect(row.rps).toBeGreaterThan(50);
      expect(row.errors).toEqual({});
      expect(row.p99).toBeGreaterThanOrEqual(row.p50);
      const page = readFileSync(html, "utf8");
      expect(page).toContain("<title>ghz - echo-test</title>");
      expect(page).toContain("Requests / sec");
    } finally {
      await echo.close();
    }
  });

  maybe("give each of N users exactly one PlaceOrder with a fresh request_id in an N-call run", async () => {
    // A server that records who called and with which request, as order would see it.
    const seen: { auth: string; requestId: string; card: string }[] = [];
    const server = new grpc.Server();
    server.register<Buffer, Buffer>(
      "/shop.order.v1.OrderService/PlaceOrder",
      (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        const req = fromBinary(PlaceOrderRequestSchema, call.request);
        seen.push({ auth: String(call.metadata.get("authorization")[0]), requestId: req.requestId, card: req.card?.number ?? "" });
        cb(null, Buffer.from(toBinary(PlaceOrderResponseSchema, create(PlaceOrderResponseSchema, {}))));
      },
      (b: Buffer) => b,
      (b: Buffer) => b,
      "unary",
    );
    const port = await new Promise<number>((res, rej) =>
      server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
    );
    try {
      const scenario = loadScenarios(join(root, "loadtest/scenarios")).find((s) => s.name === "order-place-order")!;
      const tokens = Array.from({ length: 12 }, (_, i) => `tok${i}`);
      const { data, metadata } = renderScenario(scenario, { productIds: ["P1"], tokens });
      const report = await runGhz({
        ghz, protoset, target: `127.0.0.1:${port}`, call: scenario.call, data, metadata: metadata!,
        total: tokens.length, concurrency: 4, name: "orders", jsonOut: join(dir, "orders.json"),
      });
      expect(report.count).toBe(12);
      expect(seen.map((s) => s.auth).sort()).toEqual(tokens.map((t) => `Bearer ${t}`).sort());
      expect(new Set(seen.map((s) => s.requestId)).size).toBe(12);
      for (const s of seen) expect(s.requestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(seen.every((s) => s.card === "4242424242424242")).toBe(true);
    } finally {
      server.forceShutdown();
    }
  });
});
