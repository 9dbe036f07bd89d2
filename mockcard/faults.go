package mockcard

import (
	"fmt"
)

// FaultKind is a kind of injected fault.
type FaultKind uint8

const (
	// FaultRemoveBefore removes the card when the APDU arrives: it is not
	// executed and Transmit returns an error wrapping apdu.ErrCardRemoved.
	FaultRemoveBefore FaultKind = iota + 1
	// FaultRemoveAfter executes the APDU (its state changes persist) and
	// then removes the card: the response is lost.
	FaultRemoveAfter
	// FaultTear executes the APDU, applying only the first Bytes bytes of
	// an UPDATE BINARY, UPDATE RECORD or APPEND RECORD, then removes the
	// card. Bytes = 0 is FaultRemoveBefore; for any other command, or
	// Bytes at least the length of the write, it is FaultRemoveAfter.
	FaultTear
	// FaultForce61 answers 61xx instead of the response data, which the
	// host must fetch with GET RESPONSE.
	FaultForce61
	// FaultForce6C answers 6Cxx (xx: the exact length) instead of a
	// successful response carrying data; the host must resend with Le = xx.
	// A response of more than 256 data bytes, which 6Cxx cannot announce,
	// is returned unchanged (the fault is spent).
	// Meant for plain commands: under secure messaging the plain 6Cxx is
	// an SM error for the host.
	FaultForce6C
	// FaultTruncate keeps only the first Bytes bytes of the response data
	// (the status word is kept): a short read.
	FaultTruncate
)

// String names the fault kind.
func (k FaultKind) String() string {
	return enumName(k, FaultRemoveBefore, "fault",
		"remove-before", "remove-after", "tear", "force-61xx", "force-6Cxx", "truncate")
}

// Fault is a fault to inject (Card.Inject).
type Fault struct {
	// Kind is what happens.
	Kind FaultKind
	// At is the APDU the fault hits, counted from when it is injected:
	// 1 is the next APDU that reaches the card.
	At int
	// Bytes is the number of bytes written (FaultTear) or kept
	// (FaultTruncate).
	Bytes int
}

// scheduled is a pending fault and the APDU sequence number it hits.
type scheduled struct {
	Fault
	seq int64
}

// Inject schedules faults: the one way to make the card misbehave. Build
// each with RemoveBefore, RemoveAfter, Tear, Force61, Force6C or Truncate
// (or as a Fault literal). Several faults may be pending; a fault on an
// APDU after a removal waits until the card is inserted again. An invalid
// fault is an error wrapping ErrConfig, and then none of faults is
// scheduled.
func (c *Card) Inject(faults ...Fault) error {
	for _, f := range faults {
		if err := f.validate(); err != nil {
			return err
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range faults {
		c.faults = append(c.faults, &scheduled{Fault: f, seq: c.seq + int64(f.At)})
	}
	return nil
}

// validate checks a fault before it is scheduled.
func (f Fault) validate() error {
	if f.Kind < FaultRemoveBefore || f.Kind > FaultTruncate {
		return fmt.Errorf("%w: fault kind %d", ErrConfig, f.Kind)
	}
	if f.At < 1 {
		return fmt.Errorf("%w: fault at APDU %d, want 1 or more", ErrConfig, f.At)
	}
	if f.Bytes < 0 {
		return fmt.Errorf("%w: fault bytes %d", ErrConfig, f.Bytes)
	}
	return nil
}

// RemoveBefore is the fault that removes the card when the n-th APDU from
// now arrives, without executing it.
func RemoveBefore(n int) Fault { return Fault{Kind: FaultRemoveBefore, At: n} }

// RemoveAfter is the fault that executes the n-th APDU from now and then
// removes the card, losing the response.
func RemoveAfter(n int) Fault { return Fault{Kind: FaultRemoveAfter, At: n} }

// Tear is the fault that tears the n-th APDU from now: an UPDATE BINARY,
// UPDATE RECORD or APPEND RECORD applies only its first byteOffset data
// bytes, then the card is removed. byteOffset 0 removes the card before
// the APDU; any other command is executed whole before the removal. An
// exhaustive tearing test loops n over the APDUs of an operation and
// byteOffset over 0..len(chunk).
func Tear(n, byteOffset int) Fault { return Fault{Kind: FaultTear, At: n, Bytes: byteOffset} }

// Force61 is the fault that makes the n-th APDU from now answer 61xx (the
// data then comes with GET RESPONSE).
func Force61(n int) Fault { return Fault{Kind: FaultForce61, At: n} }

// Force6C is the fault that makes the n-th APDU from now answer 6Cxx when
// it would return data with 9000.
func Force6C(n int) Fault { return Fault{Kind: FaultForce6C, At: n} }

// Truncate is the fault that makes the n-th APDU from now return only the
// first keep bytes of its response data, followed by the status word.
func Truncate(n, keep int) Fault { return Fault{Kind: FaultTruncate, At: n, Bytes: keep} }

// ClearFaults cancels every pending fault.
func (c *Card) ClearFaults() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.faults = nil
}

// PendingFaults returns the number of faults not yet triggered.
func (c *Card) PendingFaults() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.faults)
}

// takeFault removes and returns the first fault due at APDU seq; faults
// whose APDU went by (sent while the card was removed) are due at the
// next APDU the card sees.
func (c *Card) takeFault(seq int64) *Fault {
	for i, f := range c.faults {
		if f.seq <= seq {
			c.faults = append(c.faults[:i], c.faults[i+1:]...)
			return &f.Fault
		}
	}
	return nil
}
