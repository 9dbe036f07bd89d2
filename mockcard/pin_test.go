package mockcard

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestPINMatches(t *testing.T) {
	long := bytes.Repeat([]byte{'1'}, maxPINLen)
	tests := []struct {
		name           string
		candidate, pin []byte
		want           bool
	}{
		{"equal", []byte("1234"), []byte("1234"), true},
		{"different", []byte("1235"), []byte("1234"), false},
		{"prefix", []byte("123"), []byte("1234"), false},
		{"longer", []byte("12340"), []byte("1234"), false},
		{"zero padding is not a match", []byte("1234\x00"), []byte("1234"), false},
		{"empty candidate", nil, []byte("1234"), false},
		{"longest", long, append([]byte(nil), long...), true},
		{"beyond the longest", append(long, '1'), append(long, '1'), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, pinMatches(tt.candidate, tt.pin))
		})
	}
}
