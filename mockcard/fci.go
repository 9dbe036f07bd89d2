package mockcard

import "github.com/mynacard/freespace/profile"

// FCI proprietary template of an AP (docs/PROTOCOL.md §1.4): SELECT by DF
// name with P2 = 00 answers 6F L 84 L AID [85 10 CUID] [A5 L ...]. Inside
// A5 (ISO/IEC 7816-4 Table 12, proprietary BER-TLV):
//
//	C1 01 vv            the AP's card-key set version (APs with keys; §5.3)
//	C2 04 54 45 53 54   "TEST": the test-card marker (only test cards)
//
// Hosts ignore tags inside A5 they do not know.

// TagFCIProprietary is the FCI's proprietary template A5
// (profile.TagFCIProprietary).
const TagFCIProprietary = profile.TagFCIProprietary

// TagTestCard is the test-card marker's tag inside A5; its value is
// TestCardMarker (profile.TagTestCard).
const TagTestCard = profile.TagTestCard

// TestCardMarker is the value of the test-card marker, ASCII "TEST"
// (profile.TestCardMarker).
const TestCardMarker = profile.TestCardMarker

// WithTestMarker switches the test-card marker A5 { C2 04 "TEST" } in the
// FCI of every AP on (the default: the mock is a test card) or off (a card
// that must look like one in the field; `cardap conformance
// --destructive` then refuses it without an explicit confirmation).
func WithTestMarker(on bool) Option { return func(s *settings) { s.noTestMarker = !on } }

// fciProprietary returns the A5 template of a's FCI, or nil when it
// would be empty. Tags of the AP itself (such as its key-set version C1)
// go in here too.
func (c *Card) fciProprietary(a *app) []byte {
	var body []byte
	if a.keySet != 0 {
		body = append(body, profile.TagKeySetVersion, 1, byte(a.keySet))
	}
	if !c.noTestMarker {
		body = append(body, TagTestCard, byte(len(TestCardMarker)))
		body = append(body, TestCardMarker...)
	}
	if len(body) == 0 {
		return nil
	}
	return append([]byte{TagFCIProprietary, byte(len(body))}, body...)
}
