// The server side of the mesh benchmark, in its own process so the client's CPU does not compete
// with it inside one event loop. `bare`: a plain grpc-js server with a one-line handler; `mesh`:
// serve() with every server interceptor. Both use mTLS with the dev CA, and answer GetProduct
// with the same prebuilt message. Reports its port, and its CPU time on request, over IPC.
import * as grpc from "@grpc/grpc-js";
import { CatalogService } from "@shopmesh/gen/shop/catalog/v2/catalog_pb.js";
import { defaultLimits, loadTlsMaterial, loadTopology, serve, trustPolicy, type MeshConfig } from "@shopmesh/mesh";
import { grpcDefinitionOf } from "@shopmesh/mesh/testing";
import { benchProduct } from "./payload.js";

async function main() {
  const [kind, certDir] = process.argv.slice(2);
  if ((kind !== "bare" && kind !== "mesh") || !certDir) throw new Error("usage: mesh-server.ts bare|mesh <certDir>");
  const tls = loadTlsMaterial(certDir, "catalog");
  const response = benchProduct();
  let port: number;
  if (kind === "bare") {
    const server = new grpc.Server();
    server.addService(grpcDefinitionOf(CatalogService), {
      getProduct: (_call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => cb(null, response),
    });
    const creds = grpc.ServerCredentials.createSsl(tls.ca, [{ private_key: tls.key, cert_chain: tls.cert }], true);
    port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", creds, (err, p) => (err ? reject(err) : resolve(p))),
    );
  } else {
    const config: MeshConfig = {
      mode: "local",
      name: "catalog",
      certDir,
      tls,
      jwt: {},
      topology: loadTopology(),
      limits: defaultLimits,
      trust: trustPolicy("local", loadTopology()),
    };
    const server = await serve({
      name: "catalog",
      port: 0,
      config,
      services: [{ service: CatalogService, impl: { getProduct: () => response } }],
    });
    port = server.port;
  }
  process.on("message", (m: { cmd?: string }) => {
    if (m.cmd === "cpu") process.send?.({ cpu: process.cpuUsage() });
  });
  process.on("disconnect", () => process.exit(0));
  process.send?.({ port });
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
