// Entry point: environment → typed config → server; SIGTERM/SIGINT drain and exit.
import { createLogger, loadMeshConfig, stopOnSignals } from "@shopmesh/mesh";
import { parseOrderConfig } from "./config.js";
import { startServer, stopServer } from "./server.js";

async function main(): Promise<void> {
  const log = createLogger("order");
  const config = parseOrderConfig(process.env, loadMeshConfig(process.env, "order"));
  const { port, adminPort } = await startServer(config);
  log.info({ port, adminPort }, "order serving");
  stopOnSignals(stopServer, log);
}

main().catch((err: unknown) => {
  console.error("order failed to start:", err instanceof Error ? err.message : err);
  process.exit(1);
});
