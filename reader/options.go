package reader

// connectConfig collects ConnectOptions.
type connectConfig struct {
	exclusive bool
}

// ConnectOption configures Connect.
type ConnectOption func(*connectConfig)

// Exclusive asks for exclusive access to the card (SCARD_SHARE_EXCLUSIVE):
// no other application can connect until the Card is closed. The default is
// shared access with a PC/SC transaction around each operation.
func Exclusive() ConnectOption {
	return func(c *connectConfig) { c.exclusive = true }
}
