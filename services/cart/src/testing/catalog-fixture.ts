// Test fixture: a small in-memory catalog v2 served by the real mesh serve() (mTLS, topology
// access rules), for cart and order component tests. GetProduct and BatchGetProducts only.
import { Code, ConnectError } from "@connectrpc/connect";
import { serve, type MeshConfig, type MeshServer } from "@shopmesh/mesh";
import { CatalogService } from "@shopmesh/gen/shop/catalog/v2/catalog_pb.js";

/** A product the fixture serves. */
export interface FixtureProduct {
  id: string;
  name: string;
  priceMinor: number;
  currency?: string;
}

/** The running fixture; `remove` makes a product unknown from then on. */
export type CatalogFixture = MeshServer & { remove(id: string): void };

/** Starts the fixture catalog on a free port. */
export async function startCatalogFixture(config: MeshConfig, products: FixtureProduct[]): Promise<CatalogFixture> {
  const byId = new Map(products.map((p) => [p.id, p]));
  const toProduct = (p: FixtureProduct) => ({
    id: p.id, name: p.name, price: { currencyCode: p.currency ?? "USD", amountMinor: BigInt(p.priceMinor) }, categories: ["test"], stock: 10,
  });
  const find = (id: string) => {
    const p = byId.get(id);
    if (!p) throw new ConnectError(`product ${id} not found`, Code.NotFound);
    return toProduct(p);
  };
  const server = await serve({
    name: "catalog",
    port: 0,
    config,
    services: [{
      service: CatalogService,
      impl: {
        getProduct: (req: { id: string }) => ({ product: find(req.id) }),
        batchGetProducts: (req: { ids: string[] }) => ({ products: req.ids.map(find) }),
      },
    }],
    reflection: false,
  });
  return Object.assign(server, { remove: (id: string) => { byId.delete(id); } });
}
