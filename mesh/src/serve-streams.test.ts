// Server streams and their limits (issue 14, item 2): streams have a budget of their own, apart
// from unary calls, a cap per caller, and a maximum lifetime that ends them cleanly.
import { afterAll, afterEach, describe, expect, it } from "@jest/globals";
import { create, toBinary } from "@bufbuild/protobuf";
import { Metadata, status, type Client, type ClientReadableStream } from "@grpc/grpc-js";
import { CatalogService, GetProductRequestSchema, WatchProductRequestSchema } from "@shopmesh/gen/shop/catalog/v2/catalog_pb.js";
import { createCatalogFixture, createTestMesh, rawClient, rawUnary, type TestMesh } from "./testing/index.js";
import { serve, type MeshServer } from "./serve.js";
import type { MeshLimits } from "./config.js";

const GET = "/shop.catalog.v2.CatalogService/GetProduct";
const WATCH = "/shop.catalog.v2.CatalogService/WatchProduct";
const getProduct = Buffer.from(toBinary(GetProductRequestSchema, create(GetProductRequestSchema, { id: "p1" })));
const watchP1 = Buffer.from(toBinary(WatchProductRequestSchema, create(WatchProductRequestSchema, { id: "p1" })));
const id = (b: Buffer) => b;

let mesh: TestMesh | undefined;
let server: MeshServer | undefined;
const clients: Client[] = [];
const open: ClientReadableStream<Buffer>[] = [];

async function start(limits: Partial<MeshLimits>): Promise<Client> {
  mesh ??= await createTestMesh();
  server = await serve({ name: "catalog", port: 0, services: [{ service: CatalogService, impl: createCatalogFixture({ idleWatch: true }) }],
    config: mesh.config("catalog", { limits }) });
  const c = rawClient(mesh, server.port, "edge", "catalog");
  clients.push(c);
  return c;
}

/** One WatchProduct: `first` settles with "held" at the first message, or the status the server ended it with. */
function watch(c: Client, md = new Metadata()) {
  const call = c.makeServerStreamRequest(WATCH, id, id, watchP1, md, {});
  open.push(call);
  const ended = new Promise<{ code: number; details: string; metadata: Metadata }>((resolve) => {
    call.on("status", (s) => resolve({ code: s.code, details: s.details, metadata: s.metadata }));
    call.on("error", () => undefined);
  });
  let messages = 0;
  const first = new Promise<"held" | number>((resolve) => {
    call.on("data", () => { messages++; resolve("held"); });
    void ended.then((s) => resolve(s.code));
  });
  return { call, first, ended, messages: () => messages };
}

const anonFrom = (addr: string) => { const md = new Metadata(); md.set("x-forwarded-for", addr); return md; };

afterEach(async () => {
  for (const s of open.splice(0)) s.cancel();
  for (const c of clients.splice(0)) c.close();
  await server?.close(500);
  server = undefined;
});

afterAll(() => mesh?.dispose());

describe("stream budget", () => {
  it("5,000 idle streams use their own budget: every unary call is still answered", async () => {
    const c = await start({ maxConcurrentCalls: 1024, maxConcurrentStreams: 3000, maxStreamsPerCaller: 10_000 });
    const streams = Array.from({ length: 5000 }, () => watch(c));
    const outcomes = await Promise.all(streams.map((s) => s.first));
    expect(outcomes.filter((o) => o === "held").length).toBe(3000);
    expect(outcomes.filter((o) => o === status.RESOURCE_EXHAUSTED).length).toBe(2000);
    const refused = await streams.find((s) => s.messages() === 0)!.ended;
    expect(refused.details).toBe("too many open streams on this server, retry later");
    // While 3,000 streams are held: 500 unary calls at once, none refused.
    const unary = await Promise.all(Array.from({ length: 500 }, () => rawUnary(c, GET, getProduct)));
    expect(unary.filter((r) => r.code !== 0)).toEqual([]);
  }, 60_000);
});

describe("per-caller cap", () => {
  it("an end user, or an anonymous client address the edge forwarded, holds at most maxStreamsPerCaller", async () => {
    const c = await start({ maxStreamsPerCaller: 3 });
    const as = async (sub: string) => { const md = new Metadata(); md.set("authorization", `Bearer ${await mesh!.signToken({ sub })}`); return md; };
    const alice = await Promise.all([1, 2, 3, 4].map(async () => watch(c, await as("u_alice"))));
    expect((await Promise.all(alice.map((s) => s.first))).sort()).toEqual([status.RESOURCE_EXHAUSTED, "held", "held", "held"]);
    const refused = await alice.find((s) => s.messages() === 0)!.ended;
    expect(refused.details).toBe("too many open streams for this caller (at most 3), retry later");
    // Another user, and anonymous clients the edge names by address, each have their own three.
    const bob = await Promise.all([1, 2, 3].map(async () => watch(c, await as("u_bob"))));
    expect(await Promise.all(bob.map((s) => s.first))).toEqual(["held", "held", "held"]);
    const anon1 = [1, 2, 3, 4].map(() => watch(c, anonFrom("203.0.113.7")));
    expect((await Promise.all(anon1.map((s) => s.first))).sort()).toEqual([status.RESOURCE_EXHAUSTED, "held", "held", "held"]);
    const anon2 = watch(c, anonFrom("203.0.113.8"));
    expect(await anon2.first).toBe("held");
    // A stream that ends frees its place.
    alice.find((s) => s.messages() > 0)!.call.cancel();
    await new Promise((r) => setTimeout(r, 100));
    expect(await watch(c, await as("u_alice")).first).toBe("held");
  });
});

describe("stream lifetime", () => {
  it("ends a stream with OK at its maximum lifetime, so the client opens it again and resumes", async () => {
    const c = await start({ maxStreamLifetimeMs: 300 });
    const t0 = Date.now();
    const s = watch(c);
    expect(await s.first).toBe("held");
    const end = await s.ended;
    const lived = Date.now() - t0;
    expect(end.code).toBe(status.OK);
    expect(end.metadata.get("x-shop-stream-end")).toEqual(["max-lifetime"]);
    expect(lived).toBeGreaterThanOrEqual(280);
    expect(lived).toBeLessThan(2000);
    // Reopened, the watch starts with the product as it is now.
    const again = watch(c);
    expect(await again.first).toBe("held");
  });
});
