// Entry point of `make admin` (admin-cli.ts): prints the outcome, or the reason and exit code 1.
import { runAdminCli } from "./admin-cli.js";

runAdminCli(process.argv.slice(2), process.env).then(
  (msg) => console.log(msg),
  (err: unknown) => {
    console.error(`admin: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
