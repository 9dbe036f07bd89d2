package mockcard_test

import (
	"context"
	"testing"

	"github.com/mynacard/freespace/internal/testsupport/conformancetest"

	"github.com/mynacard/freespace/conformance"
	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The card-behaviour table of docs/PROTOCOL.md (Appendix A, package
// conformance) is the mock card's specification: every row runs here.

const testPassword = conformancetest.Password

// TestConformanceTable runs every row of the card-behaviour table against
// the built-in mock card in-process, destructive rows included: nothing
// fails, and every row passes on at least one configuration.
func TestConformanceTable(t *testing.T) {
	passed := map[string]bool{}
	for _, mc := range conformancetest.MockConfigs() {
		t.Run(mc.Name, func(t *testing.T) {
			card := mockcard.MustNew(mc.Option())
			rep, err := conformance.Run(context.Background(), card, conformance.Options{
				Type: mc.Type, Keys: keystest.Store(1), Password: profile.Password(testPassword), Destructive: true})
			require.NoError(t, err)
			assert.True(t, rep.TestCard, "the mock carries the test-card marker")
			for _, r := range rep.Results {
				assert.NotEqual(t, conformance.Fail, r.Outcome, "%s: observed %s: %s", r.Requirement.ID, r.Observed, r.Reason)
				if r.Outcome == conformance.Pass {
					passed[r.Requirement.ID] = true
				}
			}
			assert.Zero(t, rep.Fail)
		})
	}
	for _, req := range conformance.Table() {
		assert.True(t, passed[req.ID], "%s never ran to PASS on any mock configuration", req.ID)
	}
}
