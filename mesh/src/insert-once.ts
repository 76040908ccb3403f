// The one write the money path decides with. An insert under a unique key happens once on
// MongoDB and on FerretDB 1.x alike, atomically and in O(log n); a guarded update does not
// (FerretDB runs it as read-then-write): docs/architecture.md "The store".

/** Runs one insert; true when it landed, false when its unique key was taken (E11000). */
export async function insertOnce(insert: () => Promise<unknown>): Promise<boolean> {
  try {
    await insert();
    return true;
  } catch (err) {
    // Duck-typed, so mesh needs no driver: MongoServerError carries the server's numeric code.
    if ((err as { code?: unknown } | null)?.code === 11000) return false;
    throw err;
  }
}
