// Package conformancetest holds the mock card configurations that together
// reach every row of the card-behaviour table (package conformance): the
// mock card's tests and the conformance runner's tests run the table over
// the same set.
package conformancetest

import (
	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
)

// Password is the AP password of the configurations that have one.
const Password = "1234"

// MockConfig is one configuration of the mock card that the table is run
// against; together they reach every row.
type MockConfig struct {
	// Name says which AP, lifecycle and password.
	Name string
	// Type is the AP type the table is run for.
	Type profile.APType
	// Option makes the card's AP (a new one at each call).
	Option func() mockcard.Option
}

// MockConfigs returns the configurations, keys from keystest.Store(1).
func MockConfigs() []MockConfig {
	st := keystest.Store(1)
	id := profile.Identity{UserID: "U1", Attributes: []profile.Attribute{{Name: "a", Value: "1"}}}
	pw := func() *mockcard.APPassword { return &mockcard.APPassword{Value: profile.Password(Password)} }
	return []MockConfig{
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
