// mTLS caller identity and end-user JWT enforcement, over real TLS on loopback.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Metadata, status, type Client } from "@grpc/grpc-js";
import { SignJWT, generateKeyPair } from "jose";
import { CatalogService, GetProductRequestSchema, GetProductResponseSchema, UpsertProductRequestSchema } from "@shopmesh/gen/shop/catalog/v2/catalog_pb.js";
import { createTestMesh, rawClient, rawUnary, createCatalogFixture, type TestMesh } from "./testing/index.js";
import { serve, type MeshServer } from "./serve.js";

let mesh: TestMesh;
let server: MeshServer;
const clients: Client[] = [];

const getProduct = (id: string) => Buffer.from(toBinary(GetProductRequestSchema, create(GetProductRequestSchema, { id })));
const upsert = Buffer.from(toBinary(UpsertProductRequestSchema, create(UpsertProductRequestSchema, { product: { id: "p2", name: "Cup" } })));
const GET = "/shop.catalog.v2.CatalogService/GetProduct";
const UPSERT = "/shop.catalog.v2.CatalogService/UpsertProduct";

function as(name: string | undefined): Client {
  const c = rawClient(mesh, server.port, name, "catalog");
  clients.push(c);
  return c;
}

function bearer(token: string): Metadata {
  const md = new Metadata();
  md.set("authorization", `Bearer ${token}`);
  return md;
}

beforeAll(async () => {
  mesh = await createTestMesh();
  server = await serve({ name: "catalog", port: 0, services: [{ service: CatalogService, impl: createCatalogFixture() }], config: mesh.config("catalog") });
});

afterAll(async () => {
  for (const c of clients) c.close();
  await server?.close(1000);
  mesh?.dispose();
});

describe("mTLS caller identity", () => {
  it("refuses a caller without a client certificate at the TLS handshake", async () => {
    const res = await rawUnary(as(undefined), GET, getProduct("p1"), { deadlineMs: 3000 });
    // The handshake fails, so the call never reaches a handler: Unavailable, not a handler status.
    expect(res.code).toBe(status.UNAVAILABLE);
  });

  it("gives PermissionDenied to a valid certificate whose identity is not an allowed caller", async () => {
    const stranger = await rawUnary(as("stranger"), GET, getProduct("p1"));
    expect(stranger.code).toBe(status.PERMISSION_DENIED);
    expect(stranger.details).toContain("stranger");
    // payment is a real mesh identity, but topology does not list it as a caller of catalog.
    const payment = await rawUnary(as("payment"), GET, getProduct("p1"));
    expect(payment.code).toBe(status.PERMISSION_DENIED);
  });

  it("lets allowed service identities call", async () => {
    const res = await rawUnary(as("order"), GET, getProduct("p1"));
    expect(res.code).toBe(0);
    expect(fromBinary(GetProductResponseSchema, res.response!).product?.name).toBe("Mug");
  });
});

describe("end-user JWT", () => {
  it("gives Unauthenticated when the token is missing on a non-public method", async () => {
    const res = await rawUnary(as("edge"), UPSERT, upsert);
    expect(res.code).toBe(status.UNAUTHENTICATED);
    expect(res.details).toBe("missing access token");
  });

  it("gives Unauthenticated for an expired token", async () => {
    const token = await mesh.signToken({ sub: "u1", roles: ["admin"], expiresIn: -60 });
    const res = await rawUnary(as("edge"), UPSERT, upsert, { metadata: bearer(token) });
    expect(res.code).toBe(status.UNAUTHENTICATED);
    expect(res.details).toBe("token expired");
  });

  it("gives Unauthenticated for a token signed by another key (forged)", async () => {
    const { privateKey } = await generateKeyPair("ES256");
    const forged = await new SignJWT({ roles: ["admin"] }).setProtectedHeader({ alg: "ES256", kid: "test-1" })
      .setSubject("mallory").setIssuer(mesh.issuer).setExpirationTime("5m").sign(privateKey);
    const res = await rawUnary(as("edge"), UPSERT, upsert, { metadata: bearer(forged) });
    expect(res.code).toBe(status.UNAUTHENTICATED);
    expect(res.details).toBe("invalid token");
  });

  it("gives Unauthenticated for garbage in the authorization header", async () => {
    const res = await rawUnary(as("edge"), UPSERT, upsert, { metadata: bearer("not.a.jwt") });
    expect(res.code).toBe(status.UNAUTHENTICATED);
  });

  it("gives PermissionDenied when a valid token lacks the method's role", async () => {
    const token = await mesh.signToken({ sub: "u1" });
    const res = await rawUnary(as("edge"), UPSERT, upsert, { metadata: bearer(token) });
    expect(res.code).toBe(status.PERMISSION_DENIED);
    expect(res.details).toContain("admin");
  });

  it("accepts a valid token with the role, and exposes the user to the handler", async () => {
    const token = await mesh.signToken({ sub: "u_admin", roles: ["admin"] });
    const res = await rawUnary(as("edge"), UPSERT, upsert, { metadata: bearer(token) });
    expect(res.code).toBe(0);
    const who = await rawUnary(as("edge"), GET, getProduct("whoami"), { metadata: bearer(token) });
    expect(fromBinary(GetProductResponseSchema, who.response!).product?.name).toBe("u_admin");
  });

  it("treats a bad token on a public method as anonymous", async () => {
    const res = await rawUnary(as("edge"), GET, getProduct("whoami"), { metadata: bearer("garbage") });
    expect(res.code).toBe(0);
    expect(fromBinary(GetProductResponseSchema, res.response!).product?.name).toBe("anonymous");
  });
});
