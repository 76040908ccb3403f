// A handler may answer with bytes it encoded itself: serve() sends them unchanged, over real
// mTLS on loopback, and answers INTERNAL (with no detail of ours) for bytes of another type.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { status, type Client } from "@grpc/grpc-js";
import { CatalogService, GetProductRequestSchema, GetProductResponseSchema, ProductSchema } from "@shopmesh/gen/shop/catalog/v2/catalog_pb.js";
import { createTestMesh, rawClient, rawUnary, createCatalogFixture, type TestMesh } from "./testing/index.js";
import { encoded, isEncoded } from "./encoded.js";
import { serve, type MeshServer } from "./serve.js";

let mesh: TestMesh;
let server: MeshServer;
let client: Client;
const GET = "/shop.catalog.v2.CatalogService/GetProduct";
const getProduct = (id: string) => Buffer.from(toBinary(GetProductRequestSchema, create(GetProductRequestSchema, { id })));
const mug = toBinary(GetProductResponseSchema, create(GetProductResponseSchema, { product: { id: "p1", name: "Encoded mug" } }));

beforeAll(async () => {
  mesh = await createTestMesh();
  const fixture = createCatalogFixture();
  server = await serve({
    name: "catalog", port: 0, config: mesh.config("catalog"),
    services: [{ service: CatalogService, impl: {
      ...fixture,
      // p1: the response's own bytes; anything else: a Product's bytes, the wrong type.
      getProduct: (req: { id: string }) => (req.id === "p1" ? encoded(GetProductResponseSchema, mug) : encoded(ProductSchema, new Uint8Array([10, 1, 120])) as never),
    } }],
  });
  client = rawClient(mesh, server.port, "order", "catalog");
});

afterAll(async () => {
  client?.close();
  await server?.close(1000);
  mesh?.dispose();
});

describe("encoded responses", () => {
  it("sends a handler's encoded response as it is", async () => {
    const res = await rawUnary(client, GET, getProduct("p1"));
    expect(res.code).toBe(0);
    expect(Buffer.from(res.response!).equals(Buffer.from(mug))).toBe(true);
    expect(fromBinary(GetProductResponseSchema, res.response!).product?.name).toBe("Encoded mug");
  });

  it("recognizes an encoded result by its registered brand, as from another copy of the package", () => {
    const foreign = { [Symbol.for("shopmesh.encoded-message")]: true, schema: GetProductResponseSchema, bytes: mug };
    expect(isEncoded(foreign)).toBe(true);
    expect(isEncoded(encoded(GetProductResponseSchema, mug))).toBe(true);
    expect(isEncoded({ schema: GetProductResponseSchema, bytes: mug })).toBe(false);
    expect(isEncoded(null)).toBe(false);
  });

  it("answers INTERNAL, without naming types, when the bytes are of another message", async () => {
    const res = await rawUnary(client, GET, getProduct("p2"));
    expect(res.code).toBe(status.INTERNAL);
    expect(res.details).not.toContain("shop.catalog");
  });
});
