// The supervisor's process (supervise.ts), started by `up`; apart from cli.ts so it loads only
// what it uses.
import { supervise } from "./supervise.js";

supervise().catch((err: unknown) => {
  console.error(`supervisor: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  process.exit(1);
});
