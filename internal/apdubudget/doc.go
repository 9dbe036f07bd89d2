// Package apdubudget holds no code. Its test, TestAPDUsPerFlow, is the
// measurement behind the "APDUs per flow" table of docs/PERFORMANCE.md:
// it runs each flow of the SDK (Type C, A and D reads, Type D writes,
// personalization) against the in-process mock card, counts the command
// APDUs (apdu.Counter, GET RESPONSE rounds included) and fails when a
// count differs from the documented figure, or when the table in the
// document differs from the one the test renders. A flow that needs more
// APDUs fails the build; one that needs fewer asks for the document to be
// updated.
//
//	go test ./internal/apdubudget -run TestAPDUsPerFlow -v
package apdubudget
