// Closed-loop load: `workers` loops each run `step` back to back until told to stop. Every
// outcome is kept (a chaos run makes a few thousand), so a scenario can cut it by time window.
import type { Outcome } from "./edge-client.js";

/** A running load. */
export interface Load {
  /** Every outcome so far, in completion order. */
  readonly outcomes: Outcome[];
  /** Stops the loops and resolves when every in-flight call has ended. */
  stop(): Promise<Outcome[]>;
}

/** Starts `workers` loops of `step(worker, iteration)`. A step that throws is a test bug: stop() rethrows it. */
export function startLoad(workers: number, step: (worker: number, i: number) => Promise<Outcome | Outcome[]>): Load {
  const outcomes: Outcome[] = [];
  let stopping = false;
  let failure: unknown;
  const loops = Array.from({ length: workers }, async (_, w) => {
    for (let i = 0; !stopping; i++) {
      try {
        const o = await step(w, i);
        if (Array.isArray(o)) outcomes.push(...o);
        else outcomes.push(o);
      } catch (err) {
        failure ??= err;
        return;
      }
    }
  });
  return {
    outcomes,
    async stop() {
      stopping = true;
      await Promise.all(loops);
      if (failure) throw failure;
      return outcomes;
    },
  };
}

/** The q-quantile (0..1) of values, nearest rank; 0 when empty. */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

/** Counts and latencies of a set of outcomes, as recorded in the report. */
export interface Summary {
  calls: number;
  ok: number;
  /** Status name → count, errors only. */
  errors: Record<string, number>;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Summarises outcomes (latencies rounded to 0.1 ms). */
export function summarize(outcomes: Outcome[]): Summary {
  const errors: Record<string, number> = {};
  for (const o of outcomes) if (o.code !== 0) errors[o.codeName] = (errors[o.codeName] ?? 0) + 1;
  const ms = outcomes.map((o) => o.ms);
  const r = (x: number) => Math.round(x * 10) / 10;
  return {
    calls: outcomes.length, ok: outcomes.filter((o) => o.code === 0).length, errors,
    p50Ms: r(quantile(ms, 0.5)), p99Ms: r(quantile(ms, 0.99)), maxMs: r(Math.max(0, ...ms)),
  };
}
