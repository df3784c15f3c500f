// Package handshake opens the node's distribution connections: it owns the listening port (Acceptor) and runs
// the version 6 distribution handshake both ways (Handshake, plugged into ergo as node.Options.Handshake).
//
// # How a connection flows
//
// A peer's connection: Acceptor.Start's loop accepts it and handshakes it on a goroutine of its own (TLS first
// when configured, then recv_name, send_status, send_challenge, recv_challenge_reply, send_challenge_ack) within
// Timeout, at most a bounded number at once, the oldest making room for newer ones. The handshaked socket is
// handed to ergo through ergo's own listener on a loopback port: Handshake.Accept gives ergo the recorded
// details without reading, and the transport serves the peer's socket in place of the loopback one
// (ServedConn). A connection this node opens: ergo dials and calls the Start of the handshake the acceptor's
// Registrar put on the peer's route (Handshake.Dialer), which runs send_name, recv_status, recv_challenge,
// send_challenge_reply and recv_challenge_ack.
//
// Both ways a handshake claims its peer (pending.go) until the transport serves the connection (OnServed), so
// that two nodes connecting to each other at once keep one connection, as OTP's dist_util settles it.
//
// Either way the details reach the transport with what the handshake learned of the peer: whether it is hidden
// (Hidden), and for a hand-off its socket. Errors and log lines keep the prefix "node:": they are the node's.
package handshake
