//go:build linux

package vpcd

import (
	"net"
	"syscall"
)

// quickAck sets TCP_QUICKACK, so the acknowledgement of the length header
// goes out at once and vpcd's Nagle-delayed payload follows without the
// delayed-ACK wait. Linux clears the flag by itself, so it is set again
// after every header.
func quickAck(c *net.TCPConn) func() {
	rc, err := c.SyscallConn()
	if err != nil {
		return func() {}
	}
	set := func(fd uintptr) {
		_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	}
	return func() { _ = rc.Control(set) }
}
