// Package reader talks to smart card readers through PC/SC (pcsc-lite on
// Linux and macOS, WinSCard on Windows) using github.com/ebfe/scard.
//
// A Context lists readers and reports their state; WaitForCard,
// WaitForRemoval and WaitForChange block on SCardGetStatusChange and return
// when the context.Context is done (the wait is cancelled with SCardCancel,
// never polled). Connect opens a Card, which implements apdu.Transport and
// apdu.Transactor: each WithTransaction call holds a PC/SC transaction for
// the duration of one operation only, and keeps the other goroutines that
// share the Card waiting meanwhile (PC/SC itself only keeps other
// connections out).
//
// Every Card has a PC/SC context of its own, so several readers can be used
// at once, one goroutine each, without one reader's calls queueing behind
// another's.
//
// PC/SC failures are returned as *PCSCError values carrying the PC/SC code;
// the common ones also match a sentinel with errors.Is: apdu.ErrCardRemoved
// (and nothing else of package apdu: a card that vanished mid-exchange is
// never also a malformed response), ErrCardReset (also apdu.ErrCardReset),
// ErrNoReader, ErrNoService, ErrAccessDenied (SCARD_W_SECURITY_VIOLATION),
// ErrSharingViolation and ErrTimeout. Messages say "reader:" once, on one
// line, also when several failures are reported together. They state
// facts; Remedy says what an operator can do about one (start pcscd,
// reinsert the card, ...).
//
// This is the only package of the module that uses cgo, and only on Linux,
// the BSDs and macOS (pcsc-lite, the PCSC framework). On Windows the binding
// calls winscard.dll through syscalls, so a default Windows build
// (CGO_ENABLED=0, no C compiler) has the working reader; winscard.dll is
// loaded when the program starts (the binding's init panics without it, as on
// Nano Server; every desktop and full server Windows has it). Built without cgo elsewhere it still compiles, and every
// constructor returns ErrNoCgo.
package reader
