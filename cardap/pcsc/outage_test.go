package pcsc_test

import (
	"bufio"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/mynacard/freespace/internal/testsupport/pcsctest"
)

// TestServeOutageWarnings stops the pcscd under a pcsc.Serve that
// serves 8 readers, keeps it down for some seconds and starts it again.
// Every reader's loop fails again and again meanwhile; the log holds at
// most one warning per kind and reader (the repeats are counted), every
// attribute on one line, and no message says "reader:" twice.
//
// Like TestServeRestart, pcsc.Serve runs in a subprocess pointed at a
// private pcscd.
func TestServeOutageWarnings(t *testing.T) {
	if os.Getenv(restartChildEnv) == "1" {
		serveRestartChild(t)
		return
	}
	d := pcsctest.NewPrivate(t, 4)
	d.Start(4)
	slots := d.Slots()
	child := startServeChild(t, d)
	for _, s := range slots {
		child.waitEvent(t, "first start", evWaiting, s.ReaderName, 0)
	}
	d.Stop()
	since := child.events()
	time.Sleep(4 * time.Second) // backoff: 0.1 + 0.2 + 0.4 + 0.8 + 1.6 s
	d.Start(4)
	for _, s := range slots {
		child.waitEvent(t, "after the outage", evWaiting, s.ReaderName, since)
	}
	child.stop(t)

	type key struct{ msg, slot string }
	warns := map[key]int{}
	total, suppressed := 0, 0
	sc := bufio.NewScanner(strings.NewReader(child.output.String()))
	for sc.Scan() {
		line := sc.Bytes()
		var rec map[string]any
		if json.Unmarshal(line, &rec) != nil {
			continue
		}
		for k, v := range rec {
			if s, ok := v.(string); ok {
				assert.NotContains(t, s, "\n", "attribute %s of %s", k, line)
				assert.LessOrEqual(t, strings.Count(s, "reader:"), 1, "attribute %s of %s", k, line)
				if strings.Contains(s, "SCARD_W_SECURITY_VIOLATION") {
					assert.Contains(t, s, "PC/SC service refused the call", "a hint, not a bare code: %s", line)
				}
			}
		}
		if n, ok := rec["suppressed"].(float64); ok {
			suppressed += int(n)
		}
		if rec["level"] != "WARN" {
			continue
		}
		total++
		slot, _ := rec["slot"].(string)
		warns[key{rec["msg"].(string), slot}]++
	}
	t.Logf("pcscd outage of 4 s under 8 readers: %d warnings logged, %d repeats suppressed", total, suppressed)
	for k, n := range warns {
		assert.Equal(t, 1, n, "warning %q for %q logged more than once", k.msg, k.slot)
	}
	assert.LessOrEqual(t, total, 3*len(slots), "a bounded number of warnings per outage")
}
