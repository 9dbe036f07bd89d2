package revocation

import (
	"os/exec"
	"strings"
	"testing"
)

// TestCheckerLinksNoNetworkOrX509: a program that only opens a store and
// checks keys (a gate, a PAM module) links neither net/http nor
// crypto/x509: fetching, verifying and importing feeds live in package
// revocation/feed (issue 14 §8). A gate's check-only path is cardap's
// client with cardap.RevocationStore over a store: cardap keeps to it too.
func TestCheckerLinksNoNetworkOrX509(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	for _, pkg := range []string{"github.com/mynacard/freespace/revocation", "github.com/mynacard/freespace/cardap"} {
		out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list: %v\n%s", err, out)
		}
		deps := map[string]bool{}
		for _, p := range strings.Fields(string(out)) {
			deps[p] = true
		}
		if !deps[pkg] {
			t.Fatalf("go list did not list %s itself:\n%s", pkg, out)
		}
		for _, banned := range []string{"net/http", "net", "crypto/x509", "crypto/tls", "github.com/mynacard/freespace/revocation/feed"} {
			if deps[banned] {
				t.Errorf("package %s depends on %s", pkg, banned)
			}
		}
	}
}
