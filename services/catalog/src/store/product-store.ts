// What catalog's domain needs from product storage. Plain objects, never driver types.

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

/** A page query over products in id order. */
export interface ListQuery {
  /** Only ids strictly greater than this (the previous page's last id). */
  afterId?: string;
  /** Only products in this category. */
  category?: string;
  /** Only products priced in this currency within [min, max]. */
  price?: { currencyCode: string; min?: number; max?: number };
  /** At most this many. */
  limit: number;
}

/** Product storage. */
export interface ProductStore {
  /** One product, or undefined. */
  get(id: string): Promise<ProductRecord | undefined>;
  /** The products found among ids, in no particular order. */
  getMany(ids: string[]): Promise<ProductRecord[]>;
  /** A page in id order. */
  list(q: ListQuery): Promise<ProductRecord[]>;
  /** Products whose name or description contains text, case-insensitively and literally; id order. */
  search(text: string, limit: number): Promise<ProductRecord[]>;
  /** Creates or replaces a product. */
  upsert(p: ProductRecord): Promise<void>;
  /** Inserts the products whose ids are not stored yet (never overwrites); returns how many were new. */
  seed(products: ProductRecord[]): Promise<number>;
  /** Number of products. */
  count(): Promise<number>;
  /** Closes connections. */
  close(): Promise<void>;
}
