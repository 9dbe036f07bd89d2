package keys

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCardKeyIsZero(t *testing.T) {
	tests := []struct {
		k    CardKey
		zero bool
	}{
		{CardKey{}, true},
		{CardKey{Ref: 1}, false},
		{CardKey{Enc: KeyRef{Name: "e"}}, false},
		{CardKey{Mac: KeyRef{Version: 2}}, false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.zero, tt.k.IsZero(), "%+v", tt.k)
	}
}
