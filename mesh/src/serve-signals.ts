// SIGTERM/SIGINT handling for a service's main.ts: drain every server once, then exit, so Kubernetes
// and `make down` stop a service without cutting in-flight calls.
import type { MeshServer } from "./serve.js";

/** Closes `servers` (grace `graceMs`) on the first SIGTERM or SIGINT, runs `onClosed`, then exits 0 (1 on error). */
export function closeOnSignals(servers: MeshServer[], opts: { graceMs?: number; onClosed?: () => Promise<void> | void } = {}): void {
  let started = false;
  const handler = (signal: NodeJS.Signals) => {
    // A second signal while draining means "now": exit without waiting further.
    if (started) process.exit(1);
    started = true;
    Promise.all(servers.map((s) => s.close(opts.graceMs)))
      .then(() => opts.onClosed?.())
      .then(() => process.exit(0), (err) => {
        console.error(`shutdown after ${signal} failed`, err);
        process.exit(1);
      });
  };
  process.on("SIGTERM", handler);
  process.on("SIGINT", handler);
}
