// Entry point: environment → typed config → server; SIGTERM/SIGINT drain and exit.
import { createLogger, loadMeshConfig } from "@shopmesh/mesh";
import { parseCartConfig } from "./config.js";
import { startServer, stopServer } from "./server.js";

async function main(): Promise<void> {
  const log = createLogger("cart");
  const config = parseCartConfig(process.env, loadMeshConfig(process.env, "cart"));
  const { port, adminPort } = await startServer(config);
  log.info({ port, adminPort }, "cart serving");
  const shutdown = (signal: string) => {
    log.info({ signal }, "shutting down");
    stopServer().then(() => process.exit(0), (err: unknown) => { log.error({ err }, "unclean shutdown"); process.exit(1); });
  };
  process.once("SIGTERM", () => shutdown("SIGTERM"));
  process.once("SIGINT", () => shutdown("SIGINT"));
}

main().catch((err: unknown) => {
  console.error("cart failed to start:", err instanceof Error ? err.message : err);
  process.exit(1);
});
