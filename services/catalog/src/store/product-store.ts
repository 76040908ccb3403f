// What catalog's domain needs from product storage. Plain objects, never driver types. Reads are
// served by the in-memory view (product-view.ts); the store is written, and read whole to fill it.

/** An amount in a currency's minor unit. */
export interface Price {
  /** ISO 4217 code, e.g. "USD". */
  currencyCode: string;
  /** Minor units (cents), 0 to 10^9 for a product. */
  amountMinor: number;
}

/** A stored product: the v2 shape; v1 is mapped from it. */
export interface ProductRecord {
  id: string;
  name: string;
  description: string;
  pictureUrl: string;
  price: Price;
  categories: string[];
  stock: number;
  updateTime: Date;
}

/** Product storage. */
export interface ProductStore {
  /** Every product, in no particular order. */
  all(): Promise<ProductRecord[]>;
  /** Creates or replaces a product. */
  upsert(p: ProductRecord): Promise<void>;
  /** Inserts the products whose ids are not stored yet (never overwrites); returns how many were new. */
  seed(products: ProductRecord[]): Promise<number>;
  /** Closes connections. */
  close(): Promise<void>;
}
