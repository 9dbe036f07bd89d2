// Command library is a library-card and point service on the Type C AP: the
// card only carries the member's ID, read without keys or passwords; the
// library's own member list says who the member is, and each tap at the
// counter earns points recorded in an append-only ledger. Type C
// identifies, it does not authenticate: a copy of a member's card earns
// points as the original does, which is acceptable for points and nothing
// more (the client opts in with cardap.Config.AllowUnproven).
//
// With no flags it runs on the built-in mock card and simulates a few taps.
// With --reader it serves a real PC/SC reader until interrupted.
//
//	go run ./examples/library
//	go run ./examples/library --reader "Virtual PCD 00 00" --members members.csv --ledger ledger.jsonl
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("library", flag.ContinueOnError)
	fs.SetOutput(stderr)
	readerName := fs.String("reader", "", "serve this PC/SC reader (default: simulate taps on mock cards)")
	membersPath := fs.String("members", "", "member list, CSV: user_id,name (default: a demo list)")
	ledgerPath := fs.String("ledger", "", "points ledger, JSON lines, appended (default: a temporary file)")
	points := fs.Int("points", 10, "points earned per visit")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *points <= 0 {
		fmt.Fprintln(stderr, "library: --points must be positive")
		return 2
	}
	members := demoMembers()
	if *membersPath != "" {
		f, err := os.Open(*membersPath)
		if err != nil {
			fmt.Fprintln(stderr, "library:", err)
			return 1
		}
		members, err = parseMembers(f)
		f.Close()
		if err != nil {
			fmt.Fprintln(stderr, "library:", err)
			return 1
		}
	}
	if *ledgerPath == "" {
		dir, err := os.MkdirTemp("", "library-demo")
		if err != nil {
			fmt.Fprintln(stderr, "library:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		*ledgerPath = dir + "/ledger.jsonl"
	}
	ledger, dropped, err := openLedger(*ledgerPath)
	if err != nil {
		fmt.Fprintln(stderr, "library:", err)
		return 1
	}
	if dropped > 0 {
		fmt.Fprintf(stderr, "library: ledger %s: removed an unfinished last entry (%d bytes) left by an interrupted write; that visit was never reported\n", *ledgerPath, dropped)
	}
	desk := &desk{members: members, ledger: ledger, points: *points, out: stdout}
	if *readerName != "" {
		err = desk.serveReader(ctx, *readerName)
	} else {
		err = desk.simulate(ctx)
	}
	code := 0
	if err != nil && ctx.Err() == nil {
		fmt.Fprintln(stderr, "library:", err)
		code = 1
	}
	// Every visit is fsynced when reported; a failing close still means the
	// file system is in trouble.
	if err := ledger.Close(); err != nil {
		fmt.Fprintln(stderr, "library: closing the ledger:", err)
		code = 1
	}
	return code
}
