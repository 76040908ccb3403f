// The edge checks which service it reached (issue 14, item 9): a real nginx, with the config the
// runner renders, in front of a "catalog" that presents another service's valid mesh certificate.
// Before, every upstream was verified against the name localhost, which every leaf carried.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { create, toBinary } from "@bufbuild/protobuf";
import { serve, type MeshServer } from "@shopmesh/mesh";
import { createCatalogFixture, createTestMesh, type TestMesh } from "@shopmesh/mesh/testing";
import { CatalogService, GetProductRequestSchema } from "@shopmesh/gen/shop/catalog/v2/catalog_pb.js";
import { freePort } from "../../test/support/stores.js";
import { tcpOpen } from "./health.js";
import { repo } from "./paths.js";
import { renderNginxConf } from "./render/nginx.js";
import { buildRoutes, type Instance } from "./routes.js";

let mesh: TestMesh;
let dir: string;
let nginx: ChildProcess | undefined;
let upstream: MeshServer | undefined;
let edgePort: number;
let catalogPort: number;

/** Starts nginx with the rendered config: every service's upstream on a closed port, but catalog's. */
async function startEdge(): Promise<void> {
  edgePort = await freePort();
  catalogPort = await freePort();
  const topology = { ...mesh.topology, edge: { ...mesh.topology.edge, port: edgePort, host: "127.0.0.1" } };
  const instances: Instance[] = await Promise.all(Object.keys(topology.services).map(async (service) => ({
    name: service, service, port: service === "catalog" ? catalogPort : await freePort(), adminPort: 0,
  })));
  const conf = renderNginxConf(topology, buildRoutes(repo, topology), instances,
    { certDir: mesh.certDir, runDir: dir, logDir: dir }, process.getuid?.() === 0);
  mkdirSync(join(dir, "tmp"), { recursive: true });
  writeFileSync(join(dir, "nginx.conf"), conf);
  nginx = spawn("/usr/sbin/nginx", ["-p", dir, "-c", join(dir, "nginx.conf"), "-e", join(dir, "error.log")], { stdio: "ignore" });
  for (let i = 0; i < 100 && !(await tcpOpen(edgePort)); i++) await new Promise((r) => setTimeout(r, 50));
}

/** A catalog on catalogPort that presents the certificate of `identity`. */
async function catalogAs(identity: string): Promise<void> {
  await upstream?.close(200);
  upstream = await serve({ name: "catalog", port: catalogPort, services: [{ service: CatalogService, impl: createCatalogFixture() }],
    config: mesh.config(identity) });
}

function getProduct(): Promise<number> {
  const client = new grpc.Client(`127.0.0.1:${edgePort}`, grpc.credentials.createInsecure());
  const body = Buffer.from(toBinary(GetProductRequestSchema, create(GetProductRequestSchema, { id: "p1" })));
  return new Promise((resolve) => {
    client.makeUnaryRequest("/shop.catalog.v2.CatalogService/GetProduct", (b: Buffer) => b, (b: Buffer) => b, body,
      new grpc.Metadata(), { deadline: Date.now() + 5000 }, (err) => { client.close(); resolve(err ? err.code : 0); });
  });
}

beforeAll(async () => {
  mesh = await createTestMesh();
  dir = mkdtempSync(join(tmpdir(), "edge-identity-"));
  await startEdge();
});

afterAll(async () => {
  nginx?.kill("SIGTERM");
  await upstream?.close(200);
  mesh.dispose();
  rmSync(dir, { recursive: true, force: true });
});

test("the edge reaches catalog when catalog presents catalog's certificate", async () => {
  await catalogAs("catalog");
  expect(await getProduct()).toBe(grpc.status.OK);
});

test("the edge refuses a server on catalog's port that holds payment's valid mesh certificate", async () => {
  await catalogAs("payment");
  // nginx ends the upstream TLS handshake (certificate name mismatch) and answers 502: Unavailable.
  expect(await getProduct()).toBe(grpc.status.UNAVAILABLE);
  await catalogAs("catalog");
  expect(await getProduct()).toBe(grpc.status.OK);
});
