//go:build !linux

package core

import "net"

// mmsg is empty where sendmmsg and recvmmsg are not used.
type mmsg struct{}

func (*mmsg) init(*net.UDPConn) {}

// writeBatch is one WriteTo per datagram.
func (t *UDPTransport) writeBatch(ms []Datagram) (int, error) { return t.writeEach(ms) }

// readBatch is one ReadFrom.
func (t *UDPTransport) readBatch(ms []Datagram) (int, error) { return t.readOne(ms) }
