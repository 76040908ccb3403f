// The access log's sampling (access-log.ts) on a real serve() over mTLS: every error and every slow
// call is written, fast successful calls only when their trace falls in the sample, the same
// traces in every service; and the decision itself, as pure logic.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { Writable } from "node:stream";
import { pino } from "pino";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { CatalogService } from "@shopmesh/gen/shop/catalog/v2/catalog_pb.js";
import { createTestMesh, createCatalogFixture, type TestMesh } from "./testing/index.js";
import { serve, type MeshServer } from "./serve.js";
import { defaultAccessLog, keepsLine } from "./access-log.js";

let mesh: TestMesh;
let server: MeshServer;
const lines: { method: string; code: string; trace_id: string; ms: number }[] = [];

// A trace id whose last 8 hex digits are `tail` (in the sample of one in ten when tail % 10 == 0).
const traceId = (tail: number) => `4bf92f3577b34da6a3ce9${String(tail).padStart(3, "0")}${tail.toString(16).padStart(8, "0")}`;
// Not sampled ("-00"): were tracing on in this process, its kept traces would keep their lines.
const traceparent = (tail: number) => `00-${traceId(tail)}-00f067aa0ba902b7-00`;

function client(): Client<typeof CatalogService> {
  const tls = mesh.config("edge").tls!;
  return createClient(CatalogService, createGrpcTransport({
    baseUrl: `https://127.0.0.1:${server.port}`,
    nodeOptions: { ca: tls.ca, cert: tls.cert, key: tls.key, servername: "catalog" },
  }));
}

beforeAll(async () => {
  mesh = await createTestMesh();
  const sink = new Writable({ write(chunk, _enc, done) {
    for (const l of String(chunk).split("\n")) if (l.includes('"msg":"rpc"')) lines.push(JSON.parse(l));
    done();
  } });
  // The fixture's "slow" product takes 60 ms: slow here means at least 50 ms.
  const config = { ...mesh.config("catalog"), accessLog: { sampleOneIn: 10, slowMs: 50 } };
  const impl = createCatalogFixture({ slow: () => new Promise((r) => setTimeout(r, 60)) });
  server = await serve({ name: "catalog", port: 0, adminPort: 0, services: [{ service: CatalogService, impl }], config,
    logger: pino({ level: "info" }, sink) });
});

afterAll(async () => {
  await server?.close(1000);
  mesh?.dispose();
});

describe("access log sampling", () => {
  it("writes fast OK calls of one trace in ten, every error and every slow call", async () => {
    const c = client();
    for (let tail = 1; tail <= 40; tail++) await c.getProduct({ id: "p1" }, { headers: { traceparent: traceparent(tail) } });
    const err = await c.getProduct({ id: "nope" }, { headers: { traceparent: traceparent(41) } }).catch((e: unknown) => e);
    expect((err as ConnectError).code).toBe(Code.NotFound);
    await c.getProduct({ id: "slow" }, { headers: { traceparent: traceparent(43) } });
    await new Promise((r) => setTimeout(r, 100)); // pino writes to the sink asynchronously
    const got = lines.filter((l) => l.method === "/shop.catalog.v2.CatalogService/GetProduct");
    // Traces 10, 20, 30, 40 are in the sample; 41 failed and 43 was slow, so both are written too.
    expect(got.map((l) => `${l.trace_id.slice(-2)} ${l.code}`)).toEqual(["0a OK", "14 OK", "1e OK", "28 OK", "29 NotFound", "2b OK"]);
    expect(got.at(-1)!.ms).toBeGreaterThanOrEqual(50);
  });
});

describe("keepsLine", () => {
  const cfg = { sampleOneIn: 10, slowMs: 100 };
  const ok = { code: 0, ms: 1, traced: false };
  it("decides by the trace id alone, so every service keeps the same traces", () => {
    expect(keepsLine(cfg, { ...ok, traceId: traceId(20) })).toBe(true);
    expect(keepsLine(cfg, { ...ok, traceId: traceId(21) })).toBe(false);
    const kept = Array.from({ length: 1000 }, (_, i) => keepsLine(cfg, { ...ok, traceId: traceId(i) })).filter(Boolean).length;
    expect(kept).toBe(100);
  });
  it("keeps every failed, slow or traced call, and everything at one in one", () => {
    const out = traceId(21);
    expect(keepsLine(cfg, { ...ok, traceId: out, code: Code.Unavailable })).toBe(true);
    expect(keepsLine(cfg, { ...ok, traceId: out, ms: 100 })).toBe(true);
    expect(keepsLine(cfg, { ...ok, traceId: out, traced: true })).toBe(true);
    expect(keepsLine({ ...cfg, sampleOneIn: 1 }, { ...ok, traceId: out })).toBe(true);
    expect(keepsLine(cfg, { ...ok, traceId: undefined })).toBe(true);
  });
  it("by default keeps one trace in ten and every call of 100 ms or more", () => {
    expect(defaultAccessLog).toEqual({ sampleOneIn: 10, slowMs: 100 });
  });
});
