// Package dist is the node's distribution transport: the connections to its peers after the handshake, with
// their reader, writer loop and ticks, the packet framing, the dispatch of control messages, and the table of
// the names and pids that Go code serves (Services). Package node fills that table and plugs the Transport into
// ergo as its node.ProtoInterface; nothing here knows the hooks protocol beyond handing a served name its
// messages.
//
// # How a packet flows
//
// ergo hands each handshaked connection to Transport.Proto, whose Serve runs the Conn: conn.go's reader takes
// a length-prefixed packet off the socket into a pooled buffer (TakeFrame) and passes it to HandlePacket
// (dispatch.go), which decodes the control message and the message straight from that buffer with package etf
// and routes them by operation: a message, exit signal, link, monitor or demonitor naming a served name or pid
// goes to its service (served.go) on the reader itself, anything else to ergo's router (ergoterm.go adapts
// gen_server's From for ergo processes). A service that answers a gen_server call runs it through RunCall, which
// lets the watchdog hand reading to a new goroutine should the call run long, and replies with Reply or
// ReplyFlush (dispatch.go), which frame the packet (wire.go) from hornbeam_hooks' pid and hand it to the
// writer: a sender with nothing ahead of it writes at once, else the writer loop flushes what queued up.
// ergo's processes reach peers through Conn's node.ConnectionInterface methods (conn_ergo.go), the node's own
// code through SendTo and the Send methods of send.go.
//
// A plain TCP link is read and written by rawio.Socket (package internal/rawio), which spins briefly on an
// empty socket and coalesces the requests of a peer with many calls in flight, from what the reader counts
// (Conn.Load). Errors and log lines keep the prefix "node:": they are the node's.
package dist
