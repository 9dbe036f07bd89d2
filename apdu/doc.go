// Package apdu is the ISO/IEC 7816-4 layer of freespace: command and response
// APDUs (cases 1-4, short and extended length), status words as comparable
// error values, BER-TLV and simple-TLV, the Transport interface that every
// card connection satisfies, and a Channel that handles GET RESPONSE (61xx),
// wrong-Le retries (6Cxx) and command chaining on top of any Transport.
//
// Section references are to ISO/IEC 7816-4:2020 unless stated otherwise.
package apdu
