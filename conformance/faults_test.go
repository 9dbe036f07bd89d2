package conformance_test

import (
	"context"
	"testing"

	"github.com/mynacard/freespace/conformance"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEveryFaultFailsItsRequirement injects each fault kind of the mock
// card (mockcard.Inject) into the command of one requirement: that
// requirement fails, with the reason, and the ones before it pass.
func TestEveryFaultFailsItsRequirement(t *testing.T) {
	tests := []struct {
		fault  mockcard.Fault
		target string
		reason string // part of Result.Reason or Observed
	}{
		{mockcard.RemoveBefore(1), "READ-CUID-SFI", "removed"},
		{mockcard.RemoveAfter(1), "READ-CUID-SFI", "removed"},
		{mockcard.Tear(1, 1), "UPDATE-CUID", "removed"},
		{mockcard.Force61(1), "READ-CUID-SFI", "61xx for a response that fits"},
		{mockcard.Force6C(1), "READ-CUID-SFI", "status word 6C10, want 9000"},
		{mockcard.Truncate(1, 4), "READ-CUID-SFI", "data"},
	}
	covered := map[mockcard.FaultKind]bool{}
	for _, tc := range tests {
		t.Run(tc.fault.Kind.String(), func(t *testing.T) {
			covered[tc.fault.Kind] = true
			card := mockcard.MustNew(mockcard.WithTypeC(profile.Identity{UserID: "U1"}))
			rep, err := conformance.Run(context.Background(), card, conformance.Options{Type: profile.TypeC, Destructive: true,
				BeforeCommand: func(r conformance.Requirement) {
					if r.ID == tc.target {
						require.NoError(t, card.Inject(tc.fault))
					}
				}})
			require.NoError(t, err)
			seen := false
			for _, r := range rep.Results {
				if r.Requirement.ID == tc.target {
					seen = true
					assert.Equal(t, conformance.Fail, r.Outcome, "observed %s", r.Observed)
					assert.Contains(t, r.Reason+" "+r.Observed, tc.reason)
					continue
				}
				if !seen {
					assert.Equal(t, conformance.Pass, r.Outcome, "%s before the fault: %s", r.Requirement.ID, r.Reason)
				}
			}
			require.True(t, seen, "target %s ran", tc.target)
			assert.Positive(t, rep.Fail)
		})
	}
	for k := mockcard.FaultRemoveBefore; k <= mockcard.FaultTruncate; k++ {
		assert.True(t, covered[k], "fault kind %v has a requirement it fails", k)
	}
}
