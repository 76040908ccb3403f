// serve() end to end over real loopback sockets with mTLS: unary, server streaming, the error map
// (BadRequest details in grpc-status-details-bin, generic Internal), JWT and caller identity checks.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";

import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { BadRequestSchema } from "@shopmesh/gen/google/rpc/error_details_pb.js";
import { CatalogService } from "@shopmesh/gen/shop/catalog/v2/catalog_pb.js";
import { createTestMesh, createCatalogFixture, type TestMesh } from "./testing/index.js";
import { serve, type MeshServer } from "./serve.js";

let mesh: TestMesh;
let server: MeshServer;

function clientAs(name: string): Client<typeof CatalogService> {
  const tls = mesh.config(name).tls!;
  return createClient(CatalogService, createGrpcTransport({
    baseUrl: `https://127.0.0.1:${server.port}`,
    // The server's certificate names only catalog (mesh/src/identity-certs.ts).
    nodeOptions: { ca: tls.ca, cert: tls.cert, key: tls.key, servername: "catalog" },
  }));
}

beforeAll(async () => {
  mesh = await createTestMesh();
  server = await serve({ name: "catalog", port: 0, adminPort: 0, services: [{ service: CatalogService, impl: createCatalogFixture() }], config: mesh.config("catalog") });
});

afterAll(async () => {
  await server?.close(1000);
  mesh?.dispose();
});

describe("serve", () => {
  it("answers a unary call from an allowed caller", async () => {
    const res = await clientAs("edge").getProduct({ id: "p1" });
    expect(res.product?.name).toBe("Mug");
  });

  it("streams server-streaming responses", async () => {
    const got: string[] = [];
    for await (const r of clientAs("edge").watchProduct({ id: "p1" })) got.push(r.product!.name);
    expect(got).toEqual(["Mug", "Mug v2", "Mug v3"]);
  });

  it("sends ValidationError as InvalidArgument with BadRequest details", async () => {
    const err = await clientAs("edge").getProduct({ id: "" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    const ce = err as ConnectError;
    expect(ce.code).toBe(Code.InvalidArgument);
    const [br] = ce.findDetails(BadRequestSchema);
    expect(br?.fieldViolations).toEqual([expect.objectContaining({ field: "id", description: "required" })]);
  });

  it("maps a domain NotFoundError to NotFound with its message", async () => {
    const err = (await clientAs("edge").getProduct({ id: "nope" }).catch((e: unknown) => e)) as ConnectError;
    expect(err.code).toBe(Code.NotFound);
    expect(err.rawMessage).toBe("product nope not found");
  });

  it("turns a plain Error into a generic Internal, without the real message", async () => {
    const err = (await clientAs("edge").getProduct({ id: "boom" }).catch((e: unknown) => e)) as ConnectError;
    expect(err.code).toBe(Code.Internal);
    expect(err.rawMessage).toBe("internal error");
    expect(JSON.stringify(err)).not.toContain("secret");
  });
});
