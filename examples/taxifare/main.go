// Command taxifare is the demand-taxi fare-subsidy example of the freespace
// SDK, modelled on a city's scheme in which registered residents ride taxis
// at a subsidized fare by showing their My Number Card.
//
// With no flags it runs everything on this machine: a city server on
// 127.0.0.1 (random port, SQLite database in a temporary directory), two
// in-car terminals (one per taxi company, each with its own SQLite database)
// and simulated cards. It syncs the registry, simulates a series of rides
// (solo, shared, over the daily limit, unregistered, revoked, expired, a
// swapped card, a card pulled away mid-read), uploads the trips (first with
// the server unreachable, then again), and prints every decision and the
// month's settlement CSV.
//
// Flags:
//
//	--rules FILE   fare rules as JSON (see internal/fare.ParseRules); default: the built-in rules
//	--dir DIR      keep the databases in DIR (new or empty) instead of a temporary directory
//	--addr ADDR    server listen address (default 127.0.0.1:0)
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	var opts options
	flag.StringVar(&opts.RulesFile, "rules", "", "fare rules JSON file (default: built-in rules)")
	flag.StringVar(&opts.Dir, "dir", "", "directory for the SQLite databases (default: a temporary directory)")
	flag.StringVar(&opts.Addr, "addr", "127.0.0.1:0", "server listen address")
	verbose := flag.Bool("v", false, "log every step to stderr")
	flag.Parse()
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	opts.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Stdout, opts)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "taxifare:", err)
		os.Exit(1)
	}
}

// options are the command's settings.
type options struct {
	RulesFile string
	Dir       string
	Addr      string
	Log       *slog.Logger
}
