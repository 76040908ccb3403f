// A response a handler encoded itself. serve() sends its bytes as they are, where it would
// otherwise create() and toBinary() the handler's result: for answers that do not change between
// calls (catalog's products, encoded once per version; order's final orders), that work is done
// once, not per call. What a call still does is copy the bytes of its items into one response,
// which costs far less than create() and toBinary() of each item on every call.
import { create, toBinary, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";

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

/**
 * Encodes records as `schema` messages, each record object once: its bytes are cached against
 * the object itself (a WeakMap) and go with it. For records that are never changed, only
 * replaced.
 */
export function encoderOf<T extends object, Desc extends DescMessage>(schema: Desc, toMessage: (t: T) => MessageInitShape<Desc>): (t: T) => Uint8Array {
  const cache = new WeakMap<T, Uint8Array>();
  return (t) => {
    let bytes = cache.get(t);
    if (bytes === undefined) {
      bytes = toBinary(schema, create(schema, toMessage(t)));
      cache.set(t, bytes);
    }
    return bytes;
  };
}

/**
 * A response of `schema` holding `items` (each already encoded) in its message field `field`
 * (repeated, or singular with at most one item), and optionally a string field: the bytes
 * toBinary() would write for the same message.
 */
export function framed<Desc extends DescMessage>(
  schema: Desc, field: string, items: readonly Uint8Array[], text?: { field: string; value: string },
): MessageInitShape<Desc> {
  const w = new BinaryWriter();
  const fieldOf = (name: string) => {
    const f = schema.fields.find((x) => x.localName === name);
    if (!f) throw new Error(`${schema.typeName} has no field ${name}`);
    return f;
  };
  const f = fieldOf(field);
  if (f.fieldKind === "message") {
    if (items.length > 1) throw new Error(`${schema.typeName}.${field} holds one message, not ${items.length}`);
    if (items[0] !== undefined) w.tag(f.number, WireType.LengthDelimited).bytes(items[0]);
  } else if (f.fieldKind === "list" && f.listKind === "message") {
    for (const b of items) w.tag(f.number, WireType.LengthDelimited).bytes(b);
  } else {
    throw new Error(`${schema.typeName}.${field} is not a message field`);
  }
  // proto3: an empty string is the default and is not written.
  if (text && text.value !== "") w.tag(fieldOf(text.field).number, WireType.LengthDelimited).string(text.value);
  return encoded(schema, w.finish());
}
