// Entry point: environment → typed config → server; SIGTERM/SIGINT drain and exit.
import { createLogger, loadMeshConfig, stopOnSignals } from "@shopmesh/mesh";
import { parsePaymentConfig } from "./config.js";
import { startServer, stopServer } from "./server.js";

async function main(): Promise<void> {
  const log = createLogger("payment");
  const config = parsePaymentConfig(process.env, loadMeshConfig(process.env, "payment"));
  const { port, adminPort } = await startServer(config);
  log.info({ port, adminPort, faultLatencyMs: config.faultLatencyMs, faultFailureRate: config.faultFailureRate }, "payment serving");
  stopOnSignals(stopServer, log);
}

main().catch((err: unknown) => {
  console.error("payment failed to start:", err instanceof Error ? err.message : err);
  process.exit(1);
});
