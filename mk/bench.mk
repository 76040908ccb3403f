# mesh-client: the mesh overhead benchmark (not a test). Runs the TypeScript sources through
# bench/register.mjs (swc, like jest), so it needs no build. Tune with BENCH_ROUNDS, BENCH_SECONDS,
# BENCH_CONCURRENCY; BENCH_SERVER_PROF=1 writes .cpuprofile files of the servers to bench/results/prof.
.PHONY: bench-mesh

bench-mesh: ## Mesh overhead benchmark: bare vs mesh server vs full mesh client, writes bench/results/mesh.json
	node --import ./bench/register.mjs bench/mesh.ts
