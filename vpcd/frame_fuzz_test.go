package vpcd

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/mynacard/freespace/apdu"
)

// FuzzFrameReader feeds arbitrary bytes to the message reader and the
// message handler: no panic, every message has its announced length within
// the bound, and every error is typed.
func FuzzFrameReader(f *testing.F) {
	frame := func(p ...byte) []byte {
		return append(binary.BigEndian.AppendUint16(nil, uint16(len(p))), p...)
	}
	f.Add(frame(ctrlPowerOn))
	f.Add(append(frame(ctrlGetATR), frame(0x00, 0xA4, 0x04, 0x00, 0x02, 0x3F, 0x00)...))
	f.Add([]byte{0x00, 0x00})
	f.Add([]byte{0xFF, 0xFF, 0x00})
	f.Add(frame(0x07))
	f.Add(frame(0x00, 0xEE, 0x00, 0x00))
	f.Add([]byte{0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		const bound = 1024
		fr := &frameReader{r: bytes.NewReader(data), max: bound}
		card := &echoCard{}
		for {
			msg, err := fr.next()
			if err != nil {
				var fe *FrameError
				if !errors.Is(err, ErrReaderClosed) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.As(err, &fe) {
					t.Fatalf("untyped error %v", err)
				}
				return
			}
			if len(msg) == 0 || len(msg) > bound {
				t.Fatalf("message of %d bytes", len(msg))
			}
			reply, err := handleMessage(context.Background(), card, msg, slog.New(slog.DiscardHandler))
			if err != nil {
				var fe *FrameError
				if !errors.As(err, &fe) && !errors.Is(err, apdu.ErrCardRemoved) {
					t.Fatalf("untyped error %v", err)
				}
				return
			}
			if len(msg) == 1 && msg[0] != ctrlGetATR && reply != nil {
				t.Fatalf("control 0x%02X answered", msg[0])
			}
			if len(msg) > 1 && len(reply) < 2 {
				t.Fatalf("APDU answered with %X", reply)
			}
		}
	})
}

func TestAppendFrameTooLarge(t *testing.T) {
	_, err := appendFrame(nil, make([]byte, MaxMessageSize+1))
	if !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("got %v", err)
	}
	b, err := appendFrame(nil, []byte{0x90, 0x00})
	if err != nil || !bytes.Equal(b, []byte{0x00, 0x02, 0x90, 0x00}) {
		t.Fatalf("got %X, %v", b, err)
	}
}
