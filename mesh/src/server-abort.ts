// An AbortController that creates its AbortSignal only when someone asks for it. AbortSignal is an
// EventTarget and costs measurable time and garbage per call; most handlers never read ctx.signal.
/** Abort state of one call; `signal` materializes (already aborted, if so) on first access. */
export class LazyAbortController {
  private controller: AbortController | undefined;
  /** True once abort() ran. */
  aborted = false;
  /** The abort reason, once aborted. */
  reason: unknown = undefined;

  /** The call's AbortSignal. */
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  /** Aborts with `reason` (first reason wins). */
  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.controller?.abort(reason);
  }
}
