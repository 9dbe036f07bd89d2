package apdu_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/mynacard/freespace/apdu"
)

// Build a SELECT by AID (ISO/IEC 7816-4 SELECT) and encode it into a
// caller's buffer without allocating.
func ExampleCommand() {
	sel := apdu.SelectAID([]byte{0xF0, 0x00, 0x00, 0x00, 0x01})
	var buf [apdu.MaxShortLc + 5]byte
	n, err := sel.Encode(buf[:])
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("% X\n", buf[:n])

	// Ne 256 is encoded as Le 00; Ne 65536 needs extended length (0000).
	read := apdu.ReadBinary(0, 256)
	b, _ := read.Bytes()
	fmt.Printf("% X\n", b)
	read.Ne = 65536
	b, _ = read.Bytes()
	fmt.Printf("% X\n", b)
	// Output:
	// 00 A4 04 0C 05 F0 00 00 00 01
	// 00 B0 00 00 00
	// 00 B0 00 00 00 00 00
}

// Status words are comparable error values; verification failures carry
// the remaining tries.
func ExampleParseResponse() {
	r, err := apdu.ParseResponse([]byte{0x6A, 0x82})
	if err != nil {
		fmt.Println(err)
		return
	}
	err = r.Err()
	fmt.Println(errors.Is(err, apdu.ErrFileNotFound), err)

	r, _ = apdu.ParseResponse([]byte{0x63, 0xC2})
	var tries *apdu.TriesError
	if errors.As(r.Err(), &tries) {
		fmt.Println("tries left:", tries.Remaining, "blocked:", errors.Is(r.Err(), apdu.ErrBlocked))
	}
	// Output:
	// true apdu: 6A82 file or application not found
	// tries left: 2 blocked: false
}

// A Channel fetches the rest of a response (61xx) with GET RESPONSE and
// returns the status word as an error.
func ExampleChannel() {
	// A card that answers READ BINARY in two parts.
	card := apdu.TransportFunc(func(_ context.Context, cmd []byte) ([]byte, error) {
		switch apdu.Ins(cmd[1]) {
		case apdu.InsReadBinary: // first 2 bytes, 3 more available
			return []byte{'I', 'D', 0x61, 0x03}, nil
		case apdu.InsGetResponse:
			return []byte{'-', '4', '2', 0x90, 0x00}, nil
		}
		return []byte{0x6D, 0x00}, nil
	})
	ch := apdu.NewChannel(card, apdu.ChannelConfig{})
	data, err := ch.Do(context.Background(), apdu.ReadBinary(0, apdu.MaxShortNe))
	fmt.Printf("%s %v\n", data, err)

	_, err = ch.Do(context.Background(), apdu.Command{INS: apdu.InsGetData})
	fmt.Println(errors.Is(err, apdu.ErrINSNotSupported))
	// Output:
	// ID-42 <nil>
	// true
}

// Trace logs APDUs through log/slog and masks secrets such as the PIN of a
// VERIFY.
func ExampleNewTrace() {
	card := apdu.TransportFunc(func(context.Context, []byte) ([]byte, error) {
		return []byte{0x90, 0x00}, nil
	})
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey || a.Key == "duration" {
				return slog.Attr{} // keep the example's output stable
			}
			return a
		},
	}))
	t := apdu.NewTrace(card, apdu.TraceConfig{Logger: logger})
	verify := apdu.Verify(0x80, []byte("1234"))
	raw, _ := verify.Bytes()
	_, _ = t.Transmit(context.Background(), raw)
	// Output:
	// level=DEBUG msg=apdu cmd="00200080 04 <masked 4 bytes>" rsp=9000 sw=9000
}

// Build nested BER-TLV and find a tag inside it.
func ExampleBERBuilder() {
	var b apdu.BERBuilder
	b.Begin(0x7F49).Add(0x06, []byte{0x2B, 0x24}).Add(0x86, []byte{0x04, 0xAA, 0xBB}).End()
	out, err := b.Bytes()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("% X\n", out)

	point, err := apdu.FindBER(out, 0x86)
	fmt.Printf("% X %v\n", point.Value, err)
	_, err = apdu.FindBER(out, 0x87)
	fmt.Println(errors.Is(err, apdu.ErrTagNotFound))
	// Output:
	// 7F 49 09 06 02 2B 24 86 03 04 AA BB
	// 04 AA BB <nil>
	// true
}

// The builders name the common commands; %v of an instruction is its name.
func ExampleReadRecord() {
	for _, c := range []apdu.Command{
		apdu.SelectEF(0x0003, apdu.SelectNoResponse),
		apdu.ReadRecord(3, 1, apdu.MaxShortNe),
		apdu.Verify(0x81, nil), // how many tries are left
	} {
		b, err := c.Bytes()
		fmt.Printf("%-12v % X %v\n", c.INS, b, err)
	}
	// Output:
	// SELECT       00 A4 02 0C 02 00 03 <nil>
	// READ RECORD  00 B2 01 1C 00 <nil>
	// VERIFY       00 20 00 81 <nil>
}
