package reader

// ConnectOptions are the options of one Connect. The zero value connects
// in shared mode with a PC/SC transaction around each operation.
type ConnectOptions struct {
	// Exclusive asks for exclusive access to the card
	// (SCARD_SHARE_EXCLUSIVE): no other application can connect until
	// the Card is closed.
	Exclusive bool
}
