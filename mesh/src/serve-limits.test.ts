// Limits and lifecycle: oversized and garbage payloads, load shedding, deadline cap, graceful drain,
// and the admin port (/metrics with the standard gRPC names, /healthz).
import { afterAll, afterEach, describe, expect, it } from "@jest/globals";
import { create, toBinary } from "@bufbuild/protobuf";
import { status, type Client } from "@grpc/grpc-js";
import { CatalogService, GetProductRequestSchema } from "@shopmesh/gen/shop/catalog/v2/catalog_pb.js";
import { createTestMesh, rawClient, rawUnary, createCatalogFixture, type TestMesh, type CatalogFixtureOptions } from "./testing/index.js";
import { serve, type MeshServer } from "./serve.js";
import type { MeshLimits } from "./config.js";

const GET = "/shop.catalog.v2.CatalogService/GetProduct";
const getProduct = (id: string) => Buffer.from(toBinary(GetProductRequestSchema, create(GetProductRequestSchema, { id })));

let mesh: TestMesh | undefined;
let server: MeshServer | undefined;
const clients: Client[] = [];

async function start(limits: Partial<MeshLimits> = {}, fixture: CatalogFixtureOptions = {}) {
  mesh ??= await createTestMesh();
  server = await serve({ name: "catalog", port: 0, adminPort: 0, services: [{ service: CatalogService, impl: createCatalogFixture(fixture) }], config: mesh.config("catalog", { limits }) });
  const c = rawClient(mesh, server.port, "edge", "catalog");
  clients.push(c);
  return c;
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await server?.close(500);
  server = undefined;
});

afterAll(() => mesh?.dispose());

describe("payload limits", () => {
  it("answers an oversized request with ResourceExhausted and keeps serving", async () => {
    const c = await start({ maxMessageBytes: 1024 });
    const big = await rawUnary(c, GET, getProduct("x".repeat(4096)));
    expect(big.code).toBe(status.RESOURCE_EXHAUSTED);
    expect((await rawUnary(c, GET, getProduct("p1"))).code).toBe(0);
  });

  it("answers garbage bytes with InvalidArgument and keeps serving", async () => {
    const c = await start();
    const garbage = await rawUnary(c, GET, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x12, 0x99]));
    expect(garbage.code).toBe(status.INVALID_ARGUMENT);
    expect(garbage.details).toBe("request message is not valid protobuf");
    expect((await rawUnary(c, GET, getProduct("p1"))).code).toBe(0);
  });
});

describe("load shedding and deadlines", () => {
  it("sheds calls beyond the concurrency limit with ResourceExhausted", async () => {
    const release: (() => void)[] = [];
    const c = await start({ maxConcurrentCalls: 2 }, { slow: () => new Promise<void>((r) => release.push(r)) });
    const slow = [rawUnary(c, GET, getProduct("slow")), rawUnary(c, GET, getProduct("slow"))];
    while (release.length < 2) await new Promise((r) => setTimeout(r, 5));
    const shed = await rawUnary(c, GET, getProduct("p1"));
    expect(shed.code).toBe(status.RESOURCE_EXHAUSTED);
    for (const r of release) r();
    expect((await Promise.all(slow)).map((r) => r.code)).toEqual([0, 0]);
    expect((await rawUnary(c, GET, getProduct("p1"))).code).toBe(0);
  });

  it("caps long client deadlines at maxDeadlineMs and aborts the handler's signal", async () => {
    let aborted: unknown;
    const c = await start({ maxDeadlineMs: 150 }, {
      slow: (signal) => new Promise<void>((_, reject) => signal.addEventListener("abort", () => { aborted = signal.reason; reject(signal.reason); })),
    });
    const t0 = Date.now();
    const res = await rawUnary(c, GET, getProduct("slow"), { deadlineMs: 10_000 });
    expect(res.code).toBe(status.DEADLINE_EXCEEDED);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect((aborted as Error).name).toBe("TimeoutError");
  });

  it("fires ctx.signal when the client's own deadline passes", async () => {
    let aborted = false;
    const c = await start({}, {
      slow: (signal) => new Promise<void>((_, reject) => signal.addEventListener("abort", () => { aborted = true; reject(signal.reason); })),
    });
    const res = await rawUnary(c, GET, getProduct("slow"), { deadlineMs: 100 });
    expect(res.code).toBe(status.DEADLINE_EXCEEDED);
    for (let i = 0; i < 100 && !aborted; i++) await new Promise((r) => setTimeout(r, 10));
    expect(aborted).toBe(true);
  });
});

describe("graceful drain", () => {
  it("lets an in-flight call finish, refuses new calls, reports NOT_SERVING", async () => {
    let release!: () => void;
    let entered!: () => void;
    const inHandler = new Promise<void>((r) => { entered = r; });
    const c = await start({}, { slow: () => { entered(); return new Promise<void>((r) => { release = r; }); } });
    const adminPort = server!.adminPort!;
    const inflight = rawUnary(c, GET, getProduct("slow"));
    await inHandler;
    const closing = server!.close(5000);
    // Draining: health and /healthz say so, new calls are refused.
    const healthz = await fetch(`http://127.0.0.1:${adminPort}/healthz`).then((r) => r.status, () => "closed");
    expect(healthz === 503 || healthz === "closed").toBe(true);
    const fresh = await rawUnary(c, GET, getProduct("p1"), { deadlineMs: 2000 });
    expect(fresh.code).not.toBe(0);
    release();
    expect((await inflight).code).toBe(0);
    await closing;
  });

  it("cancels calls still running when the grace period ends", async () => {
    let aborted = false;
    const c = await start({}, { slow: (signal) => new Promise<void>((_, reject) => signal.addEventListener("abort", () => { aborted = true; reject(signal.reason); })) });
    const inflight = rawUnary(c, GET, getProduct("slow"));
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    await server!.close(200);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(aborted).toBe(true);
    expect((await inflight).code).not.toBe(0);
  });
});

describe("admin port", () => {
  it("serves /metrics with the standard gRPC server metric names and /healthz", async () => {
    const c = await start();
    await rawUnary(c, GET, getProduct("p1"));
    await rawUnary(c, GET, getProduct("nope"));
    const text = await fetch(`http://127.0.0.1:${server!.adminPort}/metrics`).then((r) => r.text());
    expect(text).toMatch(/grpc_server_started_total\{grpc_type="unary",grpc_service="shop.catalog.v2.CatalogService",grpc_method="GetProduct"\} \d+/);
    expect(text).toMatch(/grpc_server_handled_total\{[^}]*grpc_method="GetProduct",grpc_code="NotFound"\} [1-9]/);
    expect(text).toContain("grpc_server_handling_seconds_bucket");
    expect((await fetch(`http://127.0.0.1:${server!.adminPort}/healthz`)).status).toBe(200);
  });
});
