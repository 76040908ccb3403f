// A response a handler encoded itself. serve() sends its bytes as they are, where it would
// otherwise create() and toBinary() the handler's result: for answers that do not change between
// calls (catalog's products, encoded once per version), that work is done once, not per call.
import type { DescMessage, MessageInitShape } from "@bufbuild/protobuf";

// A registered symbol, not `instanceof`: two copies of this package in one process must still
// recognize each other's results, or serve() would answer an empty message.
const BRAND = Symbol.for("shopmesh.encoded-message");

/** The bytes of one message of `schema`. */
export class EncodedMessage {
  readonly [BRAND] = true;
  constructor(readonly schema: DescMessage, readonly bytes: Uint8Array) {}
}

/** True for an encoded() result, from this copy of the package or another. */
export function isEncoded(x: unknown): x is EncodedMessage {
  return typeof x === "object" && x !== null && (x as { [BRAND]?: unknown })[BRAND] === true;
}

/**
 * Wraps the protobuf encoding of a `schema` message as a handler result. Typed as the message so
 * a handler can return it; only serve() reads it, and it refuses one of another type.
 */
export function encoded<Desc extends DescMessage>(schema: Desc, bytes: Uint8Array): MessageInitShape<Desc> {
  return new EncodedMessage(schema, bytes) as unknown as MessageInitShape<Desc>;
}
