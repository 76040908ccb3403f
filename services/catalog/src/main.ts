// catalog's entry point: the only place that reads the environment. SIGTERM closes gracefully.
// `--seed-only` loads the fixture products that are missing, then exits (no mesh needed).
import { createLogger, loadMeshConfig, stopOnSignals } from "@shopmesh/mesh";
import { parseCatalogConfig } from "./config.js";
import { seedOnly, startServer, stopServer } from "./server.js";

const log = createLogger("catalog");

async function main(): Promise<void> {
  const config = parseCatalogConfig(process.env);
  if (process.argv.includes("--seed-only")) {
    const added = await seedOnly(config);
    log.info({ added }, "seed done");
    return;
  }
  await startServer({ ...config, mesh: loadMeshConfig(process.env, "catalog") });
  stopOnSignals(stopServer, log);
}

main().catch((err: unknown) => {
  log.fatal({ err }, "catalog failed to start");
  process.exit(1);
});
