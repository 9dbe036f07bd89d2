package mockcard

import (
	"fmt"
	"strings"
	"sync"

	"github.com/mynacard/freespace/apdu"
)

// Exchange is one command APDU and what came back.
type Exchange struct {
	Command  []byte // the command APDU as sent, unmasked
	Response []byte // nil when Err is set
	Err      error  // the transport error (card removed, ctx done)
}

// SW returns the response's status word (0 when there was no response).
func (e Exchange) SW() apdu.StatusWord {
	if len(e.Response) < 2 {
		return 0
	}
	n := len(e.Response)
	return apdu.StatusWord(uint16(e.Response[n-2])<<8 | uint16(e.Response[n-1]))
}

// INS returns the command's instruction byte (0 for a command shorter
// than 2 bytes).
func (e Exchange) INS() apdu.Ins {
	if len(e.Command) < 2 {
		return 0
	}
	return apdu.Ins(e.Command[1])
}

// String renders the exchange in hex, "C: 00A4040C0B... R: 9000", with the
// data of VERIFY, CHANGE REFERENCE DATA and RESET RETRY COUNTER masked.
func (e Exchange) String() string {
	var b strings.Builder
	b.WriteString("C: ")
	b.WriteString(maskedHex(e.Command))
	if e.Err != nil {
		fmt.Fprintf(&b, " E: %v", e.Err)
	} else {
		fmt.Fprintf(&b, " R: %X", e.Response)
	}
	return b.String()
}

// GoString is like String, so that %#v does not print PIN data either.
func (e Exchange) GoString() string { return "mockcard.Exchange{" + e.String() + "}" }

// maskedHex hex-encodes a command, replacing the data field of PIN
// commands by "**". Only a fully protected command (CLA with both secure
// messaging bits, 0C) is shown whole: its data is a cryptogram. A command
// with other secure messaging bits is refused by the card (6882) but may
// still carry a PIN in clear, so it is masked.
func maskedHex(cmd []byte) string {
	if len(cmd) > 5 && cmd[0]&claSMBits != claSMBits {
		switch apdu.Ins(cmd[1]) {
		case apdu.InsVerify, apdu.InsChangeReferenceData, apdu.InsResetRetryCounter:
			return fmt.Sprintf("%X**", cmd[:5])
		}
	}
	return fmt.Sprintf("%X", cmd)
}

// Transcript records the exchanges of a card (see WithTranscript). It is
// safe for concurrent use. Its String masks PIN data, but the recorded
// bytes are raw: do not log Exchanges of PIN commands yourself.
type Transcript struct {
	mu sync.Mutex
	ex []Exchange
}

func (t *Transcript) add(cmd, resp []byte, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ex = append(t.ex, Exchange{Command: append([]byte(nil), cmd...), Response: append([]byte(nil), resp...), Err: err})
}

// Exchanges returns a copy of the recorded exchanges, oldest first.
func (t *Transcript) Exchanges() []Exchange {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Exchange(nil), t.ex...)
}

// Len returns the number of recorded exchanges.
func (t *Transcript) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.ex)
}

// Last returns the latest exchange.
func (t *Transcript) Last() (Exchange, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.ex) == 0 {
		return Exchange{}, false
	}
	return t.ex[len(t.ex)-1], true
}

// Count returns how many recorded commands have instruction byte ins.
func (t *Transcript) Count(ins apdu.Ins) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, e := range t.ex {
		if e.INS() == ins {
			n++
		}
	}
	return n
}

// Clear forgets every exchange.
func (t *Transcript) Clear() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ex = nil
}

// GoString is like String, so that %#v does not print PIN data either.
func (t *Transcript) GoString() string { return "&mockcard.Transcript{\n" + t.String() + "}" }

// String renders every exchange on its own line (PIN data masked).
func (t *Transcript) String() string {
	var b strings.Builder
	for _, e := range t.Exchanges() {
		b.WriteString(e.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// SWs returns the status word of every recorded exchange (0 for an
// exchange that ended in an error), oldest first: handy for asserting a
// whole conversation in one line.
func (t *Transcript) SWs() []apdu.StatusWord {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]apdu.StatusWord, len(t.ex))
	for i, e := range t.ex {
		out[i] = e.SW()
	}
	return out
}
