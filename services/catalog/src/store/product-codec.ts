// JSON form of a product for Redis change events. Dates travel as ISO strings.
import type { ProductRecord } from "./product-store.js";

/** Serializes a product for Redis. */
export function encodeProduct(p: ProductRecord): string {
  return JSON.stringify({ ...p, updateTime: p.updateTime.toISOString() });
}

/** Parses what encodeProduct wrote; undefined for anything malformed (the event is ignored). */
export function decodeProduct(json: string): ProductRecord | undefined {
  try {
    const o = JSON.parse(json) as Omit<ProductRecord, "updateTime"> & { updateTime: string };
    if (typeof o?.id !== "string" || typeof o.price?.amountMinor !== "number") return undefined;
    return { ...o, updateTime: new Date(o.updateTime) };
  } catch {
    return undefined;
  }
}
