//go:build linux

// Command revmeasure measures the peak resident memory and the time of
// `cardap revocation publish` and `cardap revocation sync` on large
// lists (issue 15 item 7; figures in docs/PERFORMANCE.md). For each list
// size it writes a master list of random CUIDs (in random order, as an
// operator's export would be, with a few certificate serials), runs the
// given cardap binary under /usr/bin/time, which reports the child's peak
// resident set size ("Maximum resident set size", getrusage ru_maxrss of
// a process forked from the small time process: a child forked from this
// program directly would inherit its size in ru_maxrss) and its
// wall-clock time:
//
//  1. publish the list as sequence 1 into a new feed;
//  2. sync a new store from the feed directory (the full list);
//  3. change 1 000 entries (500 removed, 500 added) and publish sequence
//     2 (the publisher reads back its previous list and writes a delta);
//  4. sync the store again (it applies the delta);
//  5. with -populated: publish twice more keeping one delta, and sync the
//     store, which now fetches the full list while it holds its own.
//
// Usage (scripts/measure-revocation.sh builds cardap and runs this):
//
//	go run ./internal/revmeasure -cardap /tmp/cardap -n 1000000,10000000
//
// It is not run in CI: at 10 million entries it writes about 2 GB of
// files and takes minutes.
package main

import (
	"bufio"
	"encoding/hex"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

func main() {
	cardap := flag.String("cardap", "", "the cardap binary to measure (required)")
	sizes := flag.String("n", "1000000,10000000", "comma-separated list sizes")
	full := flag.Bool("populated", false, "also measure a sync that fetches the full list into a store already holding one (two more publications)")
	work := flag.String("dir", "", "work directory (default: a new directory under os.TempDir, removed afterwards)")
	flag.Parse()
	if *cardap == "" {
		fmt.Fprintln(os.Stderr, "revmeasure: -cardap is required")
		os.Exit(2)
	}
	dir := *work
	if dir == "" {
		d, err := os.MkdirTemp("", "revmeasure-")
		check(err)
		defer os.RemoveAll(d)
		dir = d
	}
	fmt.Printf("%-10s %-22s %12s %10s\n", "entries", "step", "peak RSS MiB", "seconds")
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		check(err)
		measure(*cardap, filepath.Join(dir, strconv.Itoa(n)), n, *full)
	}
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "revmeasure:", err)
		os.Exit(1)
	}
}

// measure runs the four steps at n entries in dir.
func measure(cardap, dir string, n int, populated bool) {
	check(os.MkdirAll(dir, 0o755))
	defer os.RemoveAll(dir)
	feedDir, store, master, key := filepath.Join(dir, "feed"), filepath.Join(dir, "store"), filepath.Join(dir, "master.csv"), filepath.Join(dir, "key")
	check(os.Mkdir(store, 0o755))
	out := run(cardap, "", "revocation", "publish", "--new-key", key)
	pub := strings.Fields(out)[2]
	writeMaster(master, 1, "2026-12-01T00:00:00Z", n, 0)
	report(n, "publish (new feed)", cardap, "revocation", "publish", "--master", master, "--out", feedDir, "--key", key)
	report(n, "sync (full list)", cardap, "revocation", "sync", "--store", store, "--from", feedDir, "--pubkey", pub, "--max-age", "100000h", "--max-future", "-1s")
	// 500 removed, 500 added.
	writeMaster(master, 2, "2026-12-02T00:00:00Z", n, 500)
	report(n, "publish (with delta)", cardap, "revocation", "publish", "--master", master, "--out", feedDir, "--key", key)
	report(n, "sync (delta)", cardap, "revocation", "sync", "--store", store, "--from", feedDir, "--pubkey", pub, "--max-age", "100000h", "--max-future", "-1s")
	if !populated {
		return
	}
	// A terminal that missed deltas: the feed keeps one delta, the store
	// is two publications behind and fetches the full list while it
	// still holds (and serves) its own.
	writeMaster(master, 3, "2026-12-03T00:00:00Z", n, 1000)
	run(cardap, "", "revocation", "publish", "--master", master, "--out", feedDir, "--key", key, "--keep-deltas", "1")
	writeMaster(master, 4, "2026-12-04T00:00:00Z", n, 1500)
	run(cardap, "", "revocation", "publish", "--master", master, "--out", feedDir, "--key", key, "--keep-deltas", "1")
	report(n, "sync (full, populated)", cardap, "revocation", "sync", "--store", store, "--from", feedDir, "--pubkey", pub, "--max-age", "100000h", "--max-future", "-1s")
}

// writeMaster writes a master list of n entries: random CUIDs in random
// order (one in ten thousand a certificate serial instead), the same for
// the same n; with change > 0 the first change entries are left out and
// change new ones added at the end.
func writeMaster(path string, seq int, asOf string, n, change int) {
	f, err := os.Create(path)
	check(err)
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintf(w, "#freespace-revocation/1 list\n#seq %d\n#as-of %s\nkind,id,revoked_at,reason\n", seq, asOf)
	r := rand.New(rand.NewPCG(2026, uint64(n)))
	for i := range n {
		l := line(r, i)
		if i >= change {
			w.WriteString(l)
		}
	}
	r = rand.New(rand.NewPCG(7, 7))
	for i := range change {
		w.WriteString(line(r, i))
	}
	fmt.Fprintf(w, "#end %d\n", n)
	check(w.Flush())
	check(f.Close())
}

// line returns the i-th record line drawn from r.
func line(r *rand.Rand, i int) string {
	var b [16]byte
	for j := range b {
		b[j] = byte(r.Uint32())
	}
	if i%10000 == 9999 {
		b[0] |= 1
		return "serial," + hex.EncodeToString(b[:12]) + ",2026-11-28T10:00:00Z,key-compromise\n"
	}
	reasons := []string{"lost", "stolen", "suspended", "unspecified"}
	return fmt.Sprintf("cuid,%s,2026-11-%02dT09:30:00Z,%s\n", hex.EncodeToString(b[:]), 1+r.IntN(28), reasons[r.IntN(len(reasons))])
}

// run runs cardap and returns its standard output; it exits on failure.
func run(cardap, _ string, args ...string) string {
	out, err := exec.Command(cardap, args...).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			fmt.Fprintf(os.Stderr, "%s\n", ee.Stderr)
		}
		check(fmt.Errorf("cardap %s: %w", strings.Join(args, " "), err))
	}
	return string(out)
}

// report runs cardap under /usr/bin/time and prints its peak RSS and
// wall-clock time.
func report(n int, step, cardap string, args ...string) {
	tf, err := os.CreateTemp("", "revmeasure-time-")
	check(err)
	tf.Close()
	defer os.Remove(tf.Name())
	cmd := exec.Command("/usr/bin/time", append([]string{"-f", "%M %e", "-o", tf.Name(), cardap}, args...)...)
	cmd.Stderr = os.Stderr
	if out, err := cmd.Output(); err != nil {
		check(fmt.Errorf("%s: cardap %s: %w\n%s", step, strings.Join(args, " "), err, out))
	}
	data, err := os.ReadFile(tf.Name())
	check(err)
	var kb, sec float64
	_, err = fmt.Sscanf(string(data), "%f %f", &kb, &sec)
	check(err)
	fmt.Printf("%-10d %-22s %12.1f %10.1f\n", n, step, kb/1024, sec)
}
