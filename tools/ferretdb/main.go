// Command ferretdb runs FerretDB v1.24 (MongoDB wire protocol) on SQLite, for the local mesh and tests.
//
// It embeds github.com/FerretDB/FerretDB/ferretdb instead of installing .../cmd/ferretdb:
// that binary panics at start because build/version/version.txt is not in the module zip.
//
//	.bin/ferretdb -listen-addr 127.0.0.1:27017 -state-dir .data/ferretdb -log-level info
//
// tools/setup.sh builds it with one constant of FerretDB's SQLite backend changed, so that a
// bare-_id filter is pushed down as the _id_ index is built and searches it (a plain go build here
// gives the upstream behaviour, which scans; setup.sh says why).
//
// SIGTERM or SIGINT stops it: the listener and all connections close, then the SQLite
// databases, and the process exits 0. Telemetry is always off (the embeddable package
// disables and locks it).
//
// What FerretDB 1.24 (SQLite handler) does not do, checked with pymongo 4.20 against this binary:
//   - errors "not implemented": multi-document transactions (the session's insert fails with
//     `unknown field "startTransaction"`), change streams (watch), aggregate $lookup,
//     TTL indexes (expireAfterSeconds), partial indexes (partialFilterExpression), text indexes,
//     arrayFilters, and positional "$" updates ("Cannot create field '$'");
//   - SILENTLY WRONG, no error: $elemMatch on an array of subdocuments matches nothing
//     (use a dotted path like {"items.sku": "a"}, which works), and $pull with a condition
//     ({"$pull": {"items": {"sku": "b"}}}) removes nothing unless it equals the whole element.
//
// What works (same check): insert, find, sort/skip/limit, count, distinct, $regex,
// aggregate $match/$group, $inc, $set, $push, $addToSet, upsert with $setOnInsert,
// findOneAndUpdate, unique and compound indexes (a duplicate fails with E11000, code 11000,
// also inside an unordered insertMany), data kept across restarts.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listenAddr := flag.String("listen-addr", "127.0.0.1:27017", "TCP address to listen on")
	stateDir := flag.String("state-dir", ".data/ferretdb", "directory for the SQLite databases (created if missing)")
	logLevel := flag.String("log-level", "info", "log level: debug, info, warn or error")
	flag.Parse()

	if err := run(*listenAddr, *stateDir, *logLevel); err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb:", err)
		os.Exit(1)
	}
}

func run(listenAddr, stateDir, logLevel string) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return fmt.Errorf("bad -log-level %q: %w", logLevel, err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	dir, err := filepath.Abs(stateDir)
	if err != nil {
		return err
	}
	if err = os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// The SQLite handler wants a "file:" URI naming an existing directory, ending with "/".
	// FerretDB puts SQLite in WAL mode with full syncs. synchronous(normal) was tried and changed
	// nothing measurable (PlaceOrder is bound by FerretDB's CPU, not by fsync), so it stays off.
	sqliteURL := (&url.URL{Scheme: "file", Path: strings.TrimSuffix(dir, "/") + "/"}).String()

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: listenAddr},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: sqliteURL,
	})
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	// New has already bound the listener, so MongoDBURI does not block here.
	logger.Info("ferretdb ready", "uri", f.MongoDBURI(), "state_dir", dir)

	if err = f.Run(ctx); err != nil {
		return err
	}
	logger.Info("ferretdb stopped")
	return nil
}
