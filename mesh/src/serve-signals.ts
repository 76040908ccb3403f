// SIGTERM/SIGINT handling for a service's main.ts: drain once, then exit, so Kubernetes and
// `make down` stop a service without cutting in-flight calls.

/**
 * Runs `stop` (the service's graceful drain) on the first SIGTERM or SIGINT, then exits 0, or 1
 * when it fails. A second signal while draining means "now": exit at once.
 */
export function stopOnSignals(stop: () => Promise<void>, log: { info(obj: object, msg: string): void; error(obj: object, msg: string): void } = consoleLog): void {
  let started = false;
  const handler = (signal: NodeJS.Signals) => {
    if (started) process.exit(1);
    started = true;
    log.info({ signal }, "shutting down");
    stop().then(() => process.exit(0), (err: unknown) => {
      log.error({ err, signal }, "unclean shutdown");
      process.exit(1);
    });
  };
  process.on("SIGTERM", handler);
  process.on("SIGINT", handler);
}

const consoleLog = {
  info: (obj: object, msg: string) => console.log(msg, obj),
  error: (obj: object, msg: string) => console.error(msg, obj),
};
