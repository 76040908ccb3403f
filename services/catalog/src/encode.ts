// catalog's read responses, framed from product bytes encoded once per stored record. A record
// in the view is never changed, only replaced (store/product-view.ts), so its encoding is cached
// against the record object itself and goes with it. What a call still does is copy the bytes of
// its products into one response, which costs far less than create() and toBinary() of each
// product on every call (a page of ListProducts is 20 of them).
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { create, toBinary, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import { encoded } from "@shopmesh/mesh";
import type { ProductRecord } from "./store/product-store.js";

/** One API version's encoding of a product: its message schema and the mapping onto it. */
export interface ProductEncoding<P extends DescMessage> {
  schema: P;
  toMessage(p: ProductRecord): MessageInitShape<P>;
}

/** Encodes products of one API version, each record once. */
export function productEncoder<P extends DescMessage>(enc: ProductEncoding<P>): (p: ProductRecord) => Uint8Array {
  const cache = new WeakMap<ProductRecord, Uint8Array>();
  return (p) => {
    let bytes = cache.get(p);
    if (bytes === undefined) {
      bytes = toBinary(enc.schema, create(enc.schema, enc.toMessage(p)));
      cache.set(p, bytes);
    }
    return bytes;
  };
}

/**
 * A response of `schema` holding `products` (already encoded) in its field `productsField`, and
 * optionally a string field: the bytes toBinary() would write for the same message.
 */
export function productsResponse<R extends DescMessage>(
  schema: R, productsField: string, products: readonly Uint8Array[], text?: { field: string; value: string },
): MessageInitShape<R> {
  const w = new BinaryWriter();
  const number = (name: string) => {
    const f = schema.fields.find((x) => x.localName === name);
    if (!f) throw new Error(`${schema.typeName} has no field ${name}`);
    return f.number;
  };
  const field = number(productsField);
  if (schema.fields.find((x) => x.number === field)?.fieldKind === "message") {
    // A singular message field (GetProductResponse.product).
    if (products[0] !== undefined) w.tag(field, WireType.LengthDelimited).bytes(products[0]);
  } else {
    for (const b of products) w.tag(field, WireType.LengthDelimited).bytes(b);
  }
  // proto3: an empty string is the default and is not written.
  if (text && text.value !== "") w.tag(number(text.field), WireType.LengthDelimited).string(text.value);
  return encoded(schema, w.finish());
}
