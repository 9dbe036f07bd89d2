// Package vpcd is the card side of the vpcd protocol of the vsmartcard
// project's virtual reader driver for pcscd. A Card written in Go connects
// to the TCP port of one vpcd slot and from then on is "in the reader": every
// PC/SC application on the machine sees it like a physical card.
//
// The wire protocol: every message is a 2-byte big-endian length followed
// by that many bytes. A 1-byte message from the reader is a control command
// (0x00 power off, 0x01 power on, 0x02 reset, 0x04 get ATR); only get ATR is
// answered, with the ATR. Any longer message is a command APDU, answered
// with exactly one response APDU.
//
// vpcd (version 3.3 at least) writes each length and payload with two
// send() calls without TCP_NODELAY. With Nagle's algorithm on its side and
// delayed acknowledgements on ours, every APDU would wait about 40 ms; on
// Linux the connection therefore sets TCP_QUICKACK after reading each length
// header, which brings the round trip to well under a millisecond.
package vpcd
