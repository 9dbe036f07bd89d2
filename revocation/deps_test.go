package revocation

import (
	"os/exec"
	"strings"
	"testing"
)

// TestCheckerLinksNoNetworkOrX509: a program that only opens a store and
// checks keys (a gate, a PAM module) links neither net/http nor
// crypto/x509: fetching, verifying and importing feeds live in package
// revocation/feed (issue 14 §8).
func TestCheckerLinksNoNetworkOrX509(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", "github.com/mynacard/freespace/revocation").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := map[string]bool{}
	for _, p := range strings.Fields(string(out)) {
		deps[p] = true
	}
	if !deps["github.com/mynacard/freespace/revocation"] {
		t.Fatalf("go list did not list the package itself:\n%s", out)
	}
	for _, banned := range []string{"net/http", "net", "crypto/x509", "crypto/tls", "crypto/ed25519", "github.com/mynacard/freespace/revocation/feed"} {
		if deps[banned] {
			t.Errorf("package revocation depends on %s", banned)
		}
	}
}
