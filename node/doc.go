// Package node runs a Go program as a real distributed Erlang node that serves the hooks protocol
// (docs/protocol.md) as the registered process hornbeam_hooks.
//
// Start starts the node: ergo (github.com/ergo-services/ergo) provides the node runtime, EPMD registration and
// the handshake, and this package provides the distribution protocol after the handshake (ergo's
// node.ProtoInterface) and the hornbeam_hooks server on top of a *hooks.Engine. Several nodes may run in one
// process.
//
// # Distribution protocol
//
// The node advertises the flags OTP 25 requires plus big creation, V4 node containers (DFLAG_V4_NC), aliases and
// spawn requests; not the distribution header atom cache and not fragments. Every packet is therefore a
// pass-through one (type 112): the control message and the message, each a whole external term, decoded
// straight from the read buffer with package etf. Each connection has one reader; its writes go out in order
// per sender, batched: a sender with nothing ahead of it writes itself, otherwise its packet waits in a
// queue (senders block while it is full) that the writer loop empties in one flush. Big binaries in a message
// are written from their own memory. A plain TCP link is read and written with raw system calls on Go's
// poller, which spares a scheduler transition per call, and its reader re-reads an empty socket for up to
// 100 µs before parking while a peer calling one at a time keeps its requests coming that fast. When the peer
// has many gen_server calls in flight (its monitors on hornbeam_hooks tell how many, reads that bring several
// requests that they come at once), the reader instead sleeps up to Options.Coalesce after a read that brought
// a whole call, so the requests that come meanwhile are served and answered in one batch; the sleep is a third
// of the peer's round trip, measured by Little's law, and none below 80 µs (rawio.Socket, in node/internal/rawio). An idle
// connection ticks every Options.TickInterval and answers ticks; a peer silent for four to five intervals is
// dropped.
//
// Control messages: SEND, REG_SEND, SEND_SENDER, ALIAS_SEND and their _TT forms, LINK, UNLINK, UNLINK_ID (with
// its ack), EXIT, EXIT2, their _TT and PAYLOAD_ forms, MONITOR_P, DEMONITOR_P, MONITOR_P_EXIT (and its
// PAYLOAD_ form), SPAWN_REQUEST and SPAWN_REPLY (and _TT). Messages for ergo processes go to ergo's router;
// a full ergo mailbox holds up the connection's reader for up to five seconds (back-pressure) before the message
// is dropped with a warning. ergo's proxy features answer "not supported".
//
// A packet whose control message does not decode is logged and dropped; a message that does not decode, or a
// packet above Options.MaxMessageSize, likewise, but when it is a $gen_call whose From can be read the caller
// gets {error, {badterm, Detail}}. The reader has always taken the whole packet, so the link stays in step.
//
// # Served here, not by ergo processes
//
// Calls to hornbeam_hooks from other nodes run on the connection's reader and reply straight onto the
// connection, through the caller's alias when its From is {Pid, [alias | Ref]}; a watchdog hands reading to a
// new goroutine when a call is found running 1 ms after it started (it looks every 5 ms), so a slow handler
// holds up other calls for a few milliseconds at most.
// An ergo gen.Server is registered as hornbeam_hooks too, for local ergo senders. The monitor gen_server:call
// puts on hornbeam_hooks needs nothing: the name lives as long as the node, whose end the peer sees as
// noconnection.
//
// net_kernel answers {is_auth, Node} with yes, so net_adm:ping gives pong. rex serves {call, M, F, A, GL},
// casts and rpc's features_request; SPAWN_REQUESTs for erpc:execute_call/4 and erpc:execute_cast/3 run as pids
// of this node that no ergo process backs, so rpc:call and erpc:call reach hornbeam_hooks' functions with no
// Erlang code loaded; other modules give undef. Callers that hold async tasks or streams are monitored
// (MONITOR_P from hornbeam_hooks); when they exit or their node disconnects, what they held is released.
//
// # From Go to Erlang
//
// Node.Call makes a gen_server call to a pid or {Name, Node} on another node and Node.RPC runs M:F(A) there
// through its rex server; both connect to the node first when needed, and go out from hornbeam_hooks with a
// monitor on the target, so a missing process or node fails at once. Erlang hooks registered with
// hornbeam_hooks:reg are run from Go with the engine's Execute like any other.
//
// # Port mode
//
// ServePort serves the same protocol with no node at all, on {packet,4} frames over a reader and a writer, as
// `hornbeam --stdio` does for an Erlang port.
//
// ergo registers -ergo.* flags on the global flag set and prints warnings to the standard logger; this package
// removes those flags when it loads and switches the warnings off, logging what matters to Options.Logger.
package node
