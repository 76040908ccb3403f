// Entry point: environment → typed config → server; SIGTERM/SIGINT drain and exit.
import { createLogger, loadMeshConfig, stopOnSignals } from "@shopmesh/mesh";
import { parseCartConfig } from "./config.js";
import { startServer, stopServer } from "./server.js";

async function main(): Promise<void> {
  const log = createLogger("cart");
  const config = parseCartConfig(process.env, loadMeshConfig(process.env, "cart"));
  const { port, adminPort } = await startServer(config);
  log.info({ port, adminPort }, "cart serving");
  stopOnSignals(stopServer, log);
}

main().catch((err: unknown) => {
  console.error("cart failed to start:", err instanceof Error ? err.message : err);
  process.exit(1);
});
