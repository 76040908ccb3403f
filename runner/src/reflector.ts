// The edge's reflection target: a mesh server that hosts no shop service but reflects all of them
// (and answers grpc.health.v1 for the edge), so `grpcurl -plaintext 127.0.0.1:8080 list` and
// `describe` work through nginx. Started by the runner as the process "reflector" (plan.ts).
import { loadMeshConfig, serve, stopOnSignals } from "@shopmesh/mesh";

async function main(): Promise<void> {
  const config = loadMeshConfig(process.env, "reflector");
  const server = await serve({
    name: "reflector", port: Number(process.env.PORT ?? 50050),
    adminPort: process.env.ADMIN_PORT ? Number(process.env.ADMIN_PORT) : undefined,
    services: [], config, reflection: { all: true },
  });
  stopOnSignals(() => server.close(2000));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
