// Package apdu is the ISO/IEC 7816-4 layer of freespace: command and response
// APDUs (cases 1-4, short and extended length), status words as comparable
// error values, BER-TLV and simple-TLV, the Transport interface that every
// card connection satisfies, and a Channel that handles GET RESPONSE (61xx),
// wrong-Le retries (6Cxx) and command chaining on top of any Transport, and
// a Trace that logs every APDU through log/slog with secrets masked.
//
// A typical stack, from the card up:
//
//	var t apdu.Transport = pcscCard                     // or a mock card
//	t = apdu.NewTrace(t, apdu.TraceConfig{Logger: log}) // APDU log, PINs masked
//	ch := apdu.NewChannel(t, apdu.ChannelConfig{})      // 61xx, 6Cxx, chaining
//	data, err := ch.Do(ctx, apdu.ReadBinary(0, 256))    // SELECT, READ BINARY, ...
//	if errors.Is(err, apdu.ErrSecurityStatusNotSatisfied) { ... }
//
// The instruction bytes of ISO/IEC 7816-4 are the Ins constants
// (InsSelect, InsReadBinary, ...) and the common commands have builders
// (SelectAID, SelectEF, ReadBinary, ReadRecord, Verify, GetChallenge, ...).
// Package apdutest scripts a card for tests.
//
// Section references are to ISO/IEC 7816-4:2020 unless stated otherwise.
package apdu
