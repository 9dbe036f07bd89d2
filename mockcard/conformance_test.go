package mockcard_test

import (
	"context"
	"testing"

	"github.com/mynacard/freespace/conformance"
	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The card-behaviour table of docs/PROTOCOL.md (Appendix A, package
// conformance) is the mock card's specification: every row runs here.

const testPassword = "1234"

// mockConfig is one configuration of the mock card that the table is run
// against; together they reach every row.
type mockConfig struct {
	name string
	typ  profile.APType
	opt  func() mockcard.Option
}

func mockConfigs() []mockConfig {
	st := keystest.Store(1)
	id := profile.Identity{UserID: "U1", Attributes: []profile.Attribute{{Name: "a", Value: "1"}}}
	pw := func() *mockcard.APPassword { return &mockcard.APPassword{Value: profile.Password(testPassword)} }
	return []mockConfig{
		{"C sealed", profile.TypeC, func() mockcard.Option { return mockcard.WithTypeC(id) }},
		{"C personalization", profile.TypeC, func() mockcard.Option {
			return mockcard.WithTypeCConfig(mockcard.TypeC{Unsealed: true})
		}},
		{"A sealed", profile.TypeA, func() mockcard.Option {
			return mockcard.WithTypeA(mockcard.TypeA{Identity: id, Keys: mockcard.APKeys{Masters: st}})
		}},
		{"A sealed password", profile.TypeA, func() mockcard.Option {
			return mockcard.WithTypeA(mockcard.TypeA{Identity: id, Keys: mockcard.APKeys{Masters: st}, Password: pw()})
		}},
		{"A personalization", profile.TypeA, func() mockcard.Option {
			return mockcard.WithTypeA(mockcard.TypeA{Identity: id, Keys: mockcard.APKeys{Masters: st}, Password: pw(), Unsealed: true})
		}},
		{"D sealed", profile.TypeD, func() mockcard.Option {
			return mockcard.WithTypeD(mockcard.TypeD{Keys: mockcard.APKeys{Masters: st}})
		}},
		{"D sealed password", profile.TypeD, func() mockcard.Option {
			return mockcard.WithTypeD(mockcard.TypeD{Keys: mockcard.APKeys{Masters: st}, Password: pw()})
		}},
		{"D personalization", profile.TypeD, func() mockcard.Option {
			return mockcard.WithTypeD(mockcard.TypeD{Keys: mockcard.APKeys{Masters: st}, Unsealed: true})
		}},
	}
}

// TestConformanceTable runs every row of the card-behaviour table against
// the built-in mock card in-process, destructive rows included: nothing
// fails, and every row passes on at least one configuration.
func TestConformanceTable(t *testing.T) {
	passed := map[string]bool{}
	for _, mc := range mockConfigs() {
		t.Run(mc.name, func(t *testing.T) {
			card := mockcard.MustNew(mc.opt())
			rep, err := conformance.Run(context.Background(), card, conformance.Options{
				Type: mc.typ, Keys: keystest.Store(1), Password: profile.Password(testPassword), Destructive: true})
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
