package keys

// CardKey names a key object of a card AP (Type A or Type D): its
// reference on the card and the operator's master keys for its two
// halves. The card holds only keys diversified from the masters with its
// CUID and the AP's AID (docs/PROTOCOL.md §5.1), so a CardKey holds names,
// never key material. Enc and Mac name their masters without a version
// (Version 0): both are used at the card's key-set version
// (docs/PROTOCOL.md §5.3), and typea and typed refuse a CardKey that
// names one. typea.DefaultKey and typed.DefaultKey return the profile's
// CardKeys.
type CardKey struct {
	// Ref is the key's reference on the card: P2 of MUTUAL AUTHENTICATE
	// (ISO/IEC 7816-4 §11.5.4), e.g. 01 for the read key.
	Ref byte
	// Enc names the master key of K_enc, the key that encrypts the
	// authentication cryptograms and, after it, secure messaging.
	Enc KeyRef
	// Mac names the master key of K_mac, the key of the MACs.
	Mac KeyRef
}

// IsZero reports whether k is the zero CardKey (no reference, no names): a
// configuration then takes the profile's default key.
func (k CardKey) IsZero() bool { return k == CardKey{} }
