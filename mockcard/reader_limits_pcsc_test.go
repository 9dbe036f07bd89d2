//go:build cgo || windows

package mockcard_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/internal/testsupport/pcsctest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/reader"
)

// TestExtendedLengthLearnedThroughPCSC: through a real pcscd, a Channel
// that may use extended length learns on the reader.Card connection
// whether it gets through (the mock with and without extended length), so
// that later Channels on the connection use what was learned; Reconnect
// forgets it (the card may be another one).
func TestExtendedLengthLearnedThroughPCSC(t *testing.T) {
	pki := mockcard.MustLoadJPKITestPKI()
	for _, tc := range []struct {
		name string
		opts []mockcard.Option
		want apdu.Support
	}{
		{"reader with extended length", nil, apdu.Supported},
		{"reader without extended length", []mockcard.Option{mockcard.WithShortReader(mockcard.ShortReaderWrongLength)}, apdu.Unsupported},
	} {
		t.Run(tc.name, func(t *testing.T) {
			slot := pcsctest.Acquire(t)
			card := mockcard.MustNew(append([]mockcard.Option{mockcard.WithJPKI(mockcard.JPKI{})}, tc.opts...)...)
			slot.Attach(t, card)
			ctx := context.Background()
			cd, err := pcsctest.NewContext(t).Connect(ctx, slot.ReaderName, reader.ConnectOptions{})
			require.NoError(t, err)
			t.Cleanup(func() { _ = cd.Close() })
			require.Equal(t, apdu.SupportUnknown, cd.LengthSupport().Load(), "the mock's ATR says nothing")

			readCert := func() []byte {
				ch := apdu.NewChannel(cd, apdu.ChannelConfig{ExtendedLength: true})
				_, err := ch.Do(ctx, apdu.Command{INS: apdu.InsSelect, P1: 0x04, P2: 0x0C, Data: mockcard.JPKIAID()})
				require.NoError(t, err)
				_, err = ch.Do(ctx, apdu.Command{INS: apdu.InsSelect, P1: 0x02, P2: 0x0C, Data: []byte{0x00, 0x0A}})
				require.NoError(t, err)
				var cert []byte
				for len(cert) < len(pki.CardAuth.DER) {
					n := len(pki.CardAuth.DER) - len(cert)
					if !ch.ExtendedLength() {
						n = min(n, apdu.MaxShortNe)
					}
					b, err := ch.Do(ctx, apdu.Command{INS: apdu.InsReadBinary, P1: byte(len(cert) >> 8), P2: byte(len(cert)), Ne: n})
					require.NoError(t, err)
					cert = append(cert, b...)
				}
				return cert
			}
			assert.Equal(t, pki.CardAuth.DER, readCert())
			assert.Equal(t, tc.want, cd.LengthSupport().Load())
			card.ResetStats()
			assert.Equal(t, pki.CardAuth.DER, readCert())
			want := 3 // SELECT AP, SELECT EF, one READ BINARY
			if tc.want == apdu.Unsupported {
				want = 2 + 8 // 256-byte chunks, no extended try
			}
			assert.Equal(t, want, card.Stats().APDUs, "a second Channel uses what was learned")
			require.NoError(t, cd.Reconnect(ctx))
			assert.Equal(t, apdu.SupportUnknown, cd.LengthSupport().Load(), "Reconnect forgets")
		})
	}
}
