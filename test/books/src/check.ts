// The invariant check as a command: prints the report, exits 1 when an invariant is violated.
//   node test/books/dist/check.js [mongoUrl] [orderDb] [paymentDb] [processorDb]
// The defaults are the local mesh's FerretDB and the services' default databases.
import { checkInvariants } from "./invariants.js";

const [url, orderDb, paymentDb, processorDb] = process.argv.slice(2);
checkInvariants({ mongoUrl: url ?? "mongodb://127.0.0.1:27018/", orderDb, paymentDb, processorDb }).then((r) => {
  console.log(JSON.stringify(r, null, 2));
  process.exit(r.ok ? 0 : 1);
}).catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
