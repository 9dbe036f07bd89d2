package mockcard

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"sync"

	"github.com/mynacard/freespace/apdu"
)

// Card is an in-process mock smart card. It implements apdu.Transport and
// the vpcd package's Card interface (ATR, Reset, Transmit). All methods are
// safe for concurrent use.
type Card struct {
	mu sync.Mutex

	rand     io.Reader
	atr      []byte
	extended bool // extended length APDUs accepted
	// shortReader: the reader refuses extended length this way (0: the
	// card answers, see reader_limits.go).
	shortReader ShortReader
	chaining    bool // command chaining (CLA bit 10) accepted
	sizeLen     int  // bytes of the EF size in an FCP (tag 80)
	grThresh    int  // responses with more data than this come as 61xx; <0: off
	tr          *Transcript

	noTestMarker bool // no A5 { C2 "TEST" } in the FCI (WithTestMarker(false))

	apps    []*app
	present bool

	// session state (cleared by Reset)
	cur     *app // selected AP; nil: the MF
	curEF   *ef
	sec     secState
	pending []byte // data not yet fetched with GET RESPONSE
	pendSW  apdu.StatusWord
	chain   *chainState

	faults   []*scheduled
	wrapWith smSession // session protecting the response being built
	tear     int       // bytes of a write applied before tearing, -1: no tearing
	seq      int64     // APDUs received since the card was made
	stats    Stats
}

// Option configures a Card built by New.
type Option func(*settings)

type settings struct {
	rand        io.Reader
	atr         []byte
	extended    bool
	shortReader ShortReader
	chaining    bool
	sizeLen     int
	grThresh    int
	tr          *Transcript
	aps         []func(r io.Reader) (APSpec, error)
	post        []func(*Card) error // run after every AP is added

	noTestMarker bool
	errs         []error
}

// WithRand sets the source of randomness (challenges, generated CUIDs).
// The default is crypto/rand.
func WithRand(r io.Reader) Option { return func(s *settings) { s.rand = r } }

// WithAP adds an AP built from spec. APs are added in option order; two
// APs with the same AID are a configuration error.
func WithAP(spec APSpec) Option {
	return func(s *settings) {
		s.aps = append(s.aps, func(io.Reader) (APSpec, error) { return spec, nil })
	}
}

// WithAPFunc adds an AP whose spec is built when the card is made, with the
// card's source of randomness (for generated CUIDs); used by the Type A, C
// and D configurations.
func WithAPFunc(build func(rand io.Reader) (APSpec, error)) Option {
	return func(s *settings) { s.aps = append(s.aps, build) }
}

// WithExtendedLength switches extended-length APDUs on (the default) or
// off. When off, a command with Nc > 255 or Ne > 256, or encoded with
// extended length fields, gets 6700.
func WithExtendedLength(on bool) Option { return func(s *settings) { s.extended = on } }

// WithChaining switches command chaining (CLA bit 10, ISO/IEC 7816-4 §5.3.3)
// on (the default) or off (6884 when used).
func WithChaining(on bool) Option { return func(s *settings) { s.chaining = on } }

// WithGetResponse makes the card answer 61xx whenever a response carries
// more than threshold data bytes (0: every response with data); the host
// fetches the data with GET RESPONSE (00 C0 00 00 Le). Without this option
// responses of up to 256 bytes to a short APDU are returned whole, as
// docs/PROTOCOL.md §1.4 requires: a card in this mode does not conform
// (`cardap conformance` fails it) and exists to exercise a host's GET
// RESPONSE path.
func WithGetResponse(threshold int) Option {
	return func(s *settings) {
		if threshold < 0 {
			s.errs = append(s.errs, fmt.Errorf("%w: GET RESPONSE threshold %d", ErrConfig, threshold))
			return
		}
		s.grThresh = threshold
	}
}

// WithFCPSizeLen sets how many bytes encode an EF's size in the FCP of a
// SELECT with P2 = 04 (tag 80; ISO/IEC 7816-4 §7.4.3 allows any length):
// 1 to 4, default 2. Sizes too large for n bytes keep their low bytes.
// Hosts must read every length; tests use 3 and 4 to check they do. Like
// the other transport options it is kept by Clone, not in state files.
func WithFCPSizeLen(n int) Option {
	return func(s *settings) {
		if n < 1 || n > 4 {
			s.errs = append(s.errs, fmt.Errorf("%w: WithFCPSizeLen: %d, want 1 to 4", ErrConfig, n))
			return
		}
		s.sizeLen = n
	}
}

// WithTranscript records every exchange into tr.
func WithTranscript(tr *Transcript) Option { return func(s *settings) { s.tr = tr } }

// WithATR replaces the default ATR (see DefaultATR). The bytes are not
// checked.
func WithATR(atr []byte) Option {
	return func(s *settings) { s.atr = append([]byte(nil), atr...) }
}

// New makes a card, inserted and powered, with the MF selected.
func New(opts ...Option) (*Card, error) {
	s := settings{rand: rand.Reader, extended: true, chaining: true, sizeLen: 2, grThresh: -1}
	for _, o := range opts {
		o(&s)
	}
	if len(s.errs) > 0 {
		return nil, s.errs[0]
	}
	c := &Card{
		rand: s.rand, atr: s.atr, extended: s.extended, shortReader: s.shortReader, chaining: s.chaining, sizeLen: s.sizeLen,
		grThresh: s.grThresh, tr: s.tr, present: true, noTestMarker: s.noTestMarker,
	}
	if c.atr == nil {
		c.atr = DefaultATR()
	}
	for _, build := range s.aps {
		spec, err := build(c.rand)
		if err != nil {
			return nil, err
		}
		if err := c.addAP(spec); err != nil {
			return nil, err
		}
	}
	for _, p := range s.post {
		if err := p(c); err != nil {
			return nil, err
		}
	}
	c.tear = -1
	c.resetSession()
	return c, nil
}

// MustNew is New for tests and examples: it panics on a configuration
// error (which is a bug in the test, never a runtime condition).
func MustNew(opts ...Option) *Card {
	c, err := New(opts...)
	if err != nil {
		panic(err)
	}
	return c
}

// AddAP adds an AP to a card (for example after Load).
func (c *Card) AddAP(spec APSpec) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.addAP(spec)
}

// ATR returns a copy of the card's answer to reset.
func (c *Card) ATR() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]byte(nil), c.atr...)
}

// Reset is a warm reset: the MF is selected again and all security state
// (verified PINs, authentication, secure messaging, challenge), pending
// GET RESPONSE data and chaining are cleared. Persistent data (files, PIN
// and key counters, lifecycle) is kept. Reset does not insert a removed
// card.
func (c *Card) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.resetSession()
}

// Remove takes the card out of the reader: every Transmit fails with an
// error wrapping apdu.ErrCardRemoved until Insert.
func (c *Card) Remove() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.present = false
	c.resetSession()
}

// Insert puts the card back (a cold reset: the session state is cleared).
func (c *Card) Insert() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.present = true
	c.resetSession()
}

// Present reports whether the card is in the reader.
func (c *Card) Present() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.present
}

// String describes the card without its state (files, PINs, keys and the
// session stay out of logs): "mockcard.Card{2 APs, present}".
func (c *Card) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	presence := "removed"
	if c.present {
		presence = "present"
	}
	return fmt.Sprintf("mockcard.Card{%d APs, %s}", len(c.apps), presence)
}

// GoString is String, so that %#v prints no state either.
func (c *Card) GoString() string { return c.String() }

// Stats counts the traffic a card has seen.
type Stats struct {
	// APDUs is the number of command APDUs that reached the card
	// (including GET RESPONSE and chained parts; not those sent while it
	// was removed).
	APDUs int
	// BytesIn and BytesOut are the command and response bytes exchanged.
	BytesIn, BytesOut int
}

// Stats returns the traffic counters.
func (c *Card) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// ResetStats zeroes the traffic counters.
func (c *Card) ResetStats() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stats = Stats{}
}

// errRemoved is the error of a Transmit to a removed card.
func errRemoved() error { return fmt.Errorf("mockcard: %w", apdu.ErrCardRemoved) }

// Transmit sends one command APDU to the card and returns its response
// (data || SW1 SW2). A malformed command gets 6700, never an error; the
// only errors are ctx's and card removal (wrapping apdu.ErrCardRemoved).
func (c *Card) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.readerRefuses(cmd); err != nil && c.present {
		return nil, err
	}
	resp, err := c.transmit(cmd)
	if c.tr != nil {
		c.tr.add(cmd, resp, err)
	}
	return resp, err
}

var _ apdu.Transport = (*Card)(nil)
