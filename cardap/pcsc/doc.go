// Package pcsc runs a cardap.Client's terminal loop over the PC/SC
// readers of the machine (pcscd on Linux, the smart card service on
// Windows and macOS): one loop per reader, readers plugged in later picked
// up, a PC/SC service that stops or restarts waited for and reconnected.
//
// It is apart from package cardap so that a program that never touches
// PC/SC (a test, a demo on mock cards, a server deciding on relayed
// APDUs) does not link the PC/SC library: cardap does not import package
// reader, this package does.
//
//	client, err := cardap.New(cfg)
//	...
//	err = pcsc.Serve(ctx, client, handle, pcsc.Options{Readers: []string{"ACS ACR1252 1S CL Reader PICC 0"}})
package pcsc
