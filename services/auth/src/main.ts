// auth's entry point: the only place that reads the environment. SIGTERM closes gracefully.
import { createLogger, loadMeshConfig, stopOnSignals } from "@shopmesh/mesh";
import { parseAuthConfig } from "./config.js";
import { startServer, stopServer } from "./server.js";

async function main(): Promise<void> {
  const config = { ...parseAuthConfig(process.env), mesh: loadMeshConfig(process.env, "auth") };
  await startServer(config);
  stopOnSignals(stopServer, createLogger("auth"));
}

main().catch((err: unknown) => {
  createLogger("auth").fatal({ err }, "auth failed to start");
  process.exit(1);
});
