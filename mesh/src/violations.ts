// Collects field violations while validating a request, then throws them all at once, so a caller
// fixes every bad field in one round trip instead of one per call.
import { ValidationError, type FieldViolation } from "./errors.js";

/** Accumulates request field violations; `throwIfAny()` raises a ValidationError with all of them. */
export class Violations {
  /** The violations collected so far. */
  readonly list: FieldViolation[] = [];

  /** Records a violation of `field` with `description` unless `ok` holds; returns `ok`. */
  check(ok: boolean, field: string, description: string): boolean {
    if (!ok) this.list.push({ field, description });
    return ok;
  }

  /** Records a violation unconditionally. */
  add(field: string, description: string): void {
    this.list.push({ field, description });
  }

  /** True when no violation was recorded. */
  get empty(): boolean {
    return this.list.length === 0;
  }

  /** Throws a ValidationError (InvalidArgument + BadRequest) when any violation was recorded. */
  throwIfAny(): void {
    if (this.list.length > 0) throw new ValidationError([...this.list]);
  }
}
