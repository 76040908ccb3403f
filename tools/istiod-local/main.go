// Command istiod-local serves Istio's xDS for the real data plane on one machine, without Kubernetes
// (docs/istio-local.md).
//
// Why not pilot-discovery itself: in Istio 1.31.0, `pilot-discovery discovery --registries=
// --configDir=DIR` panics at start (nil pointer in multicluster.(*Controller).ConfigCluster, called
// from serviceentry.NewController): without a Kubernetes registry, bootstrap.NewServer never creates
// the multicluster controller that the ServiceEntry registry reads namespaces from. Upstream's tests
// of that path inject a fake client into the server, which cannot be done from outside the package.
//
// So this program runs Istio's own in-process discovery server, pilot/test/xds (FakeDiscoveryServer),
// which issue 15 names as the acceptable fallback: the same xds.DiscoveryServer (ADS, debounce, push
// queue, the pilot_* metrics), the same config generator (listeners, clusters, routes, endpoints,
// secrets), the same ServiceEntry/WorkloadEntry registry and the same mesh config defaults, over an
// empty in-memory Kubernetes. Configuration comes from the *.yaml files of -configDir (parsed and
// validated by Istio's own CRD conversion; other kinds are skipped), which are polled: a change is
// applied to the store as creates, updates and deletes, and pushed like istiod would. A file that
// fails to parse or validate is refused with Istio's message, at start (exit 1) or later (logged,
// the previous config stays).
//
//	istiod-local -configDir DIR -meshConfig FILE [-grpcAddr 127.0.0.1:15010] [-httpAddr 127.0.0.1:15014]
//
// -grpcAddr is the plaintext xDS port (pilot-agent's discoveryAddress, controlPlaneAuthPolicy NONE).
// -httpAddr serves /ready, /metrics (Prometheus: pilot_xds_pushes, pilot_total_xds_rejects, ...) and
// istiod's /debug/ pages (syncz, adsz, configz, config_dump?proxyID=...). Istio's feature switches are
// read from the environment as in istiod, e.g. PILOT_ENABLE_ALPN_FILTER=false.
package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"istio.io/istio/pilot/pkg/config/kube/crd"
	"istio.io/istio/pilot/test/xds"
	"istio.io/istio/pkg/config"
	"istio.io/istio/pkg/config/mesh"
	"istio.io/istio/pkg/log"
	"istio.io/istio/pkg/monitoring"
)

func main() {
	configDir := flag.String("configDir", "", "directory of *.yaml Istio config (required)")
	meshFile := flag.String("meshConfig", "", "mesh config file (MeshConfig YAML; required)")
	grpcAddr := flag.String("grpcAddr", "127.0.0.1:15010", "plaintext xDS listen address")
	httpAddr := flag.String("httpAddr", "127.0.0.1:15014", "HTTP listen address: /ready, /metrics, /debug/")
	poll := flag.Duration("poll", 500*time.Millisecond, "how often -configDir is checked for changes")
	debounce := flag.Duration("debounce", 100*time.Millisecond, "push debounce (istiod's PILOT_DEBOUNCE_AFTER)")
	flag.Parse()
	if *configDir == "" || *meshFile == "" {
		fmt.Fprintln(os.Stderr, "istiod-local: -configDir and -meshConfig are required")
		os.Exit(2)
	}
	t := &failer{}
	if err := run(t, *configDir, *meshFile, *grpcAddr, *httpAddr, *poll, *debounce); err != nil {
		t.stop()
		fmt.Fprintf(os.Stderr, "istiod-local: %v\n", err)
		os.Exit(1)
	}
}

func run(t *failer, configDir, meshFile, grpcAddr, httpAddr string, poll, debounce time.Duration) error {
	start := time.Now()
	meshConfig, err := mesh.ReadMeshConfig(meshFile)
	if err != nil {
		return fmt.Errorf("mesh config %s: %v", meshFile, err)
	}
	text, sum, err := readDir(configDir)
	if err != nil {
		return err
	}
	configs, err := parse(text)
	if err != nil {
		return fmt.Errorf("config in %s: %v", configDir, err)
	}
	// Prometheus first, so every pilot_* metric the server registers is exported.
	exporter, err := monitoring.RegisterPrometheusExporter(nil, nil)
	if err != nil {
		return fmt.Errorf("prometheus exporter: %v", err)
	}
	// Listen before the server starts, so a taken port fails here with a clear message.
	lis, err := net.Listen("tcp", grpcAddr)
	if err != nil {
		return fmt.Errorf("xDS listener: %v", err)
	}
	httpLis, err := net.Listen("tcp", httpAddr)
	if err != nil {
		_ = lis.Close()
		return fmt.Errorf("HTTP listener: %v", err)
	}

	fake := xds.NewFakeDiscoveryServer(t, xds.FakeOptions{
		Configs:         configs,
		MeshConfig:      meshConfig,
		DebounceTime:    debounce,
		ListenerBuilder: func() (net.Listener, error) { return lis, nil },
	})
	store := fake.Store()

	mux := http.NewServeMux()
	mux.Handle("/metrics", exporter)
	mux.Handle("/debug/", fake.DiscoveryDebug)
	mux.HandleFunc("/ready", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(httpLis) }()
	t.Cleanup(func() { _ = srv.Close() })

	log.Infof("istiod-local: serving xDS on %s, HTTP on %s, %d configs from %s, ready in %v",
		grpcAddr, httpAddr, len(configs), configDir, time.Since(start).Round(time.Millisecond))

	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer cancel()
	current := index(configs)
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			log.Infof("istiod-local: stopping")
			t.stop()
			return nil
		case <-tick.C:
		}
		text, nsum, err := readDir(configDir)
		if err != nil {
			log.Errorf("istiod-local: %v", err)
			continue
		}
		if nsum == sum {
			continue
		}
		sum = nsum
		next, err := parse(text)
		if err != nil {
			log.Errorf("istiod-local: config in %s refused, keeping the previous one: %v", configDir, err)
			continue
		}
		current = apply(store, current, index(next))
	}
}

// configStore is what apply needs of the server's store.
type configStore interface {
	Create(config.Config) (string, error)
	Update(config.Config) (string, error)
	Delete(config.GroupVersionKind, string, string, *string) error
}

type key struct {
	gvk             config.GroupVersionKind
	namespace, name string
}

func index(cfgs []config.Config) map[key]config.Config {
	m := make(map[key]config.Config, len(cfgs))
	for _, c := range cfgs {
		m[key{c.GroupVersionKind, c.Namespace, c.Name}] = c
	}
	return m
}

// apply turns the store from old into next: deletes, updates (only what changed), creates.
func apply(store configStore, old, next map[key]config.Config) map[key]config.Config {
	var created, updated, deleted int
	for k := range old {
		if _, ok := next[k]; !ok {
			if err := store.Delete(k.gvk, k.name, k.namespace, nil); err != nil {
				log.Errorf("istiod-local: delete %v: %v", k, err)
			}
			deleted++
		}
	}
	for k, c := range next {
		prev, ok := old[k]
		var err error
		switch {
		case !ok:
			_, err = store.Create(c)
			created++
		case !prev.Equals(&c):
			_, err = store.Update(c)
			updated++
		}
		if err != nil {
			log.Errorf("istiod-local: apply %v: %v", k, err)
		}
	}
	log.Infof("istiod-local: config changed: %d created, %d updated, %d deleted", created, updated, deleted)
	return next
}

// parse reads Istio kinds (validated as istiod validates them) and skips every other kind.
func parse(text string) ([]config.Config, error) {
	cfgs, _, err := crd.ParseInputs(text)
	if err != nil {
		return nil, err
	}
	for i := range cfgs {
		if cfgs[i].Namespace == "" {
			return nil, fmt.Errorf("%s %s has no namespace", cfgs[i].GroupVersionKind.Kind, cfgs[i].Name)
		}
		if cfgs[i].CreationTimestamp.IsZero() {
			cfgs[i].CreationTimestamp = time.Unix(0, 0)
		}
	}
	return cfgs, nil
}

// readDir joins every *.yaml file of dir (sorted by name) into one YAML stream, with its hash.
func readDir(dir string) (string, [32]byte, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return "", [32]byte{}, err
	}
	if len(files) == 0 {
		if _, err := os.Stat(dir); err != nil {
			return "", [32]byte{}, fmt.Errorf("config dir: %v", err)
		}
	}
	sort.Strings(files)
	var b strings.Builder
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue // removed between the glob and the read: the next poll sees it
			}
			return "", [32]byte{}, err
		}
		b.WriteString("\n---\n")
		b.Write(data)
	}
	return b.String(), sha256.Sum256([]byte(b.String())), nil
}

// failer is the test.Failer the fake server is built with: cleanups run at stop, a fatal error ends
// the process (it only happens while starting).
type failer struct {
	mu       sync.Mutex
	cleanups []func()
}

func (f *failer) Cleanup(fn func()) { f.mu.Lock(); f.cleanups = append(f.cleanups, fn); f.mu.Unlock() }

func (f *failer) stop() {
	f.mu.Lock()
	fns := f.cleanups
	f.cleanups = nil
	f.mu.Unlock()
	for i := len(fns) - 1; i >= 0; i-- {
		fns[i]()
	}
}

func (f *failer) Fail()    { f.Fatal("failed") }
func (f *failer) FailNow() { f.Fatal("failed") }
func (f *failer) Fatal(args ...any) {
	fmt.Fprintln(os.Stderr, append([]any{"istiod-local: fatal:"}, args...)...)
	os.Exit(1)
}
func (f *failer) Fatalf(format string, args ...any) { f.Fatal(fmt.Sprintf(format, args...)) }
func (f *failer) Log(args ...any)                   { log.Info(fmt.Sprint(args...)) }
func (f *failer) Logf(format string, args ...any)   { log.Infof(format, args...) }
func (f *failer) Helper()                           {}
func (f *failer) Skip(args ...any)                  { f.Fatal(append([]any{"skip:"}, args...)...) }
func (f *failer) TempDir() string {
	d, err := os.MkdirTemp("", "istiod-local-")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = os.RemoveAll(d) })
	return d
}
