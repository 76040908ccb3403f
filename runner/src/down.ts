// `down`: stops exactly the recorded processes that still run, edge first, and keeps .data/.
import { stopSupervisor } from "./supervise.js";
import { alive, signal, writeState, type ProcKind } from "./supervisor.js";

export async function down(): Promise<void> {
  // First, or it would restart what this stops.
  const procs = await stopSupervisor();
  const mine = procs.filter(alive);
  // Edge first, so clients stop arriving, then services, their sidecars (istio mode), istiod, the
  // observability processes (OBSERVE=1: after the services, which flush their last spans), and the
  // stores they use.
  const order: ProcKind[] = ["edge", "service", "proxy", "control", "observe", "store"];
  // Then whatever an older runner recorded under a kind this one no longer starts (the reflector).
  const batches = [...order.map((kind) => mine.filter((p) => p.kind === kind)), mine.filter((p) => !order.includes(p.kind))];
  for (const batch of batches) {
    for (const p of batch) signal(p, "SIGTERM");
    const deadline = Date.now() + 15_000;
    while (batch.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    for (const p of batch.filter(alive)) { console.log(`down: ${p.name} ignored SIGTERM; killing it`); signal(p, "SIGKILL"); }
    for (const p of batch) console.log(`down: stopped ${p.name} (pid ${p.pid})`);
  }
  writeState([]);
  console.log(mine.length === 0 ? "down: nothing was running" : "down: the mesh is stopped; data kept in .data/");
}
