// The fault knob (MESH_FAULT_*): parsed strictly, off by default, and on a real server it fails
// or slows unary calls before the handler runs, while health checks stay untouched.
import { afterAll, afterEach, describe, expect, it } from "@jest/globals";
import { create, toBinary } from "@bufbuild/protobuf";
import { status, type Client } from "@grpc/grpc-js";
import { CatalogService, GetProductRequestSchema } from "@shopmesh/gen/shop/catalog/v2/catalog_pb.js";
import { createTestMesh, rawClient, rawUnary, createCatalogFixture, type TestMesh } from "./testing/index.js";
import { serve, type MeshServer } from "./serve.js";
import { faultOff, injectFault, parseFault, type FaultConfig } from "./fault.js";

const GET = "/shop.catalog.v2.CatalogService/GetProduct";
const HEALTH = "/grpc.health.v1.Health/Check";
const getProduct = (id: string) => Buffer.from(toBinary(GetProductRequestSchema, create(GetProductRequestSchema, { id })));

describe("parseFault", () => {
  it("is off unless set", () => {
    expect(parseFault({})).toEqual({ unavailableRate: 0, delayMs: 0 });
    expect(faultOff(parseFault({}))).toBe(true);
    expect(faultOff(parseFault({ MESH_FAULT_DELAY_MS: "5" }))).toBe(false);
  });

  it("refuses a rate outside 0..1 and a negative delay, naming the variable", () => {
    expect(() => parseFault({ MESH_FAULT_UNAVAILABLE_RATE: "1.5" })).toThrow(/MESH_FAULT_UNAVAILABLE_RATE="1.5": must be a number from 0 to 1/);
    expect(() => parseFault({ MESH_FAULT_DELAY_MS: "-1" })).toThrow(/MESH_FAULT_DELAY_MS/);
  });
});

describe("injectFault", () => {
  const never = new AbortController().signal;
  it("fails exactly the calls whose draw falls below the rate", async () => {
    const f: FaultConfig = { unavailableRate: 0.3, delayMs: 0 };
    await expect(injectFault(f, never, () => 0.29)).rejects.toMatchObject({ code: 14 });
    await expect(injectFault(f, never, () => 0.3)).resolves.toBeUndefined();
  });

  it("ends the delay early with the call's signal, with its reason", async () => {
    const ac = new AbortController();
    const t0 = Date.now();
    const p = injectFault({ unavailableRate: 0, delayMs: 10_000 }, ac.signal);
    setTimeout(() => ac.abort(new DOMException("deadline exceeded", "TimeoutError")), 20);
    await expect(p).rejects.toMatchObject({ name: "TimeoutError" });
    expect(Date.now() - t0).toBeLessThan(2000);
  });
});

describe("on a real server", () => {
  let mesh: TestMesh | undefined;
  let server: MeshServer | undefined;
  let client: Client | undefined;
  afterEach(async () => {
    client?.close();
    await server?.close(500);
  });
  afterAll(() => mesh?.dispose());

  async function start(fault: FaultConfig, onCall: () => void) {
    mesh ??= await createTestMesh();
    const impl = createCatalogFixture();
    const getProductImpl = impl.getProduct!.bind(impl);
    impl.getProduct = (req, ctx) => { onCall(); return getProductImpl(req, ctx); };
    server = await serve({ name: "catalog", port: 0, services: [{ service: CatalogService, impl }],
      config: { ...mesh.config("catalog"), fault } });
    client = rawClient(mesh, server.port, "edge", "catalog");
    return client;
  }

  it("MESH_FAULT_UNAVAILABLE_RATE=1 answers UNAVAILABLE before the handler runs; health still answers SERVING", async () => {
    let calls = 0;
    const c = await start({ unavailableRate: 1, delayMs: 0 }, () => calls++);
    const r = await rawUnary(c, GET, getProduct("p1"));
    expect(r).toMatchObject({ code: status.UNAVAILABLE, details: "fault injected by MESH_FAULT_UNAVAILABLE_RATE" });
    expect(calls).toBe(0);
    const h = await rawUnary(c, HEALTH, Buffer.alloc(0));
    expect(h.code).toBe(0);
    expect(h.response?.toString("hex")).toBe("0801");
  });

  it("MESH_FAULT_DELAY_MS holds a call that long, then runs it", async () => {
    let calls = 0;
    const c = await start({ unavailableRate: 0, delayMs: 300 }, () => calls++);
    const t0 = Date.now();
    expect((await rawUnary(c, GET, getProduct("p1"))).code).toBe(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(295);
    expect(calls).toBe(1);
  });

  it("a delay past the caller's deadline ends as DEADLINE_EXCEEDED without running the handler", async () => {
    let calls = 0;
    const c = await start({ unavailableRate: 0, delayMs: 5000 }, () => calls++);
    const r = await rawUnary(c, GET, getProduct("p1"), { deadlineMs: 200 });
    expect(r.code).toBe(status.DEADLINE_EXCEEDED);
    await new Promise((res) => setTimeout(res, 100));
    expect(calls).toBe(0);
  });
});
