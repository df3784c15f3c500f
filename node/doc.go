// Package node runs a Go program as a real distributed Erlang node that serves the hooks protocol
// (docs/protocol.md) as the registered process hornbeam_hooks, so that Erlang nodes call Go, Python and Erlang
// hooks with gen_server:call, rpc or erpc, and Go calls Erlang processes back (Node.Call, Node.RPC).
//
// Start starts the node: ergo (github.com/ergo-services/ergo) provides the node runtime and EPMD registration;
// this package's internal packages provide the listening port and the handshake (handshake), and the
// distribution protocol after it (dist, ergo's node.ProtoInterface); this package provides hornbeam_hooks on
// top of a *hooks.Engine and wires it all. Several nodes may run in one process.
//
// # How a request flows
//
// In package node/internal/dist, a connection's reader (conn.go) reads a packet; dispatch.go decodes its
// control message and message and routes them: to the name or pid's service when Go code serves it (the table
// of served.go there, filled by this package), else to ergo's router. A $gen_call to hornbeam_hooks reaches
// server.go here, which strips the From, runs the request through the protocol package (package proto:
// parsing, the op table over the engine, per-caller tasks and streams) on the reader itself, and writes the
// reply through the caller's alias with dist.Conn.ReplyFlush (dist's wire.go frames it). docs/protocol.md,
// "How a request travels through the code", walks the files in order.
//
// The packages and files by job: connections start in node/internal/handshake (accept.go, the listening port;
// handshake.go, the version 6 handshake both ways, which also tells whether a peer is hidden); the transport is
// node/internal/dist (conn.go: reader, writer loop, ticks; wire.go: packet framing; dispatch.go: control
// dispatch; served.go: the table of served names and pids; conn_ergo.go and ergoterm.go: ergo's side of a
// connection), with the raw-syscall socket, the read spin, coalescing and the watchdog in internal/rawio; rex
// and erpc are node/internal/rpc. Serving is this package: node.go (Start, Stop, the wiring of the above),
// served.go (what the node serves from the start), server.go (hornbeam_hooks), erlang_handler.go (hooks served
// by Erlang processes), call.go (calls from Go to Erlang), service.go and sys.go (named services, sys
// messages), pg.go and global.go (the pg scope and OTP global, whose state machines are packages node/pg and
// node/global).
//
// # Served by Go code, not by ergo processes
//
// The transport holds the one table of what Go code serves (dist.Services), which this package fills:
// registered names (hornbeam_hooks, rex, global_name_server, and net_kernel's {is_auth, Node}, which answers
// yes so that net_adm:ping gives pong) and pids that no ergo process backs (hornbeam_hooks' own, the pids of
// erpc calls, and global's server, locker and registrar), plus the watchers that hear of peers coming up and
// going down; the pg scope (its name, its pid and its members' pids) and the named services of Expose are
// served there too. Dispatch offers each message, exit signal, link, monitor and demonitor to the service
// of its target first; what a service declines goes to ergo.
//
// Calls to hornbeam_hooks from other nodes run on the connection's reader and reply straight onto the
// connection, through the caller's alias when its From is {Pid, [alias | Ref]}; an ergo gen.Server is
// registered as hornbeam_hooks too, for local ergo senders. The monitor gen_server:call puts on hornbeam_hooks
// needs nothing: the name lives as long as the node, whose end the peer sees as noconnection. Callers that
// hold async tasks or streams are monitored (MONITOR_P from hornbeam_hooks); when they exit or their node
// disconnects, what they held is released.
//
// rex serves {call, M, F, A, GL}, casts and rpc's features_request; SPAWN_REQUESTs for erpc:execute_call/4 and
// erpc:execute_cast/3 run as pids of this node, so rpc:call and erpc:call reach hornbeam_hooks' functions with
// no Erlang code loaded; other modules give undef.
//
// # Named services and pg
//
// Node.Expose (and ExposeHandler, and the binary's --expose APP_PATH[=NAME]) registers a name on the node for
// one app path: gen_server:call({Name, Node}, {Action, A1, ..., An}) or gen_server:call({Name, Node}, Action)
// runs execute(AppPath, Action, [A1, ..., An], #{}) on the connection's reader, as a hornbeam_hooks call does,
// and replies the hook's value itself or {error, Reason}; a gen_server:cast runs and drops the result; any
// other message is logged at debug level and dropped (service.go). The name lasts as long as the node.
//
// The node runs a peer of OTP's pg scope Options.PGScope (hornbeam unless set; none with Options.NoPG), see
// package node/pg: every registered hook has a member in the group <<AppPath>>, a pid of this node that joins
// when the hook is registered, leaves when it is unregistered and answers the same requests as a named
// service; hornbeam_hooks' pid is the member of the group hornbeam_hooks (an atom), where the Erlang client
// finds Go nodes. The scope discovers the scope of each node that connects, and asks again every 500 ms the
// connected nodes where it knows none (a hidden node's scope, or one started later, does not discover this
// node by itself). Node.PG reads the members of every node from Go.
//
// # From Go to Erlang
//
// Node.Call makes a gen_server call to a pid or {Name, Node} on another node and Node.RPC runs M:F(A) there
// through its rex server; both connect to the node first when needed, and go out from hornbeam_hooks with a
// monitor on the target, so a missing process or node fails at once. Erlang hooks registered with
// hornbeam_hooks:reg are run from Go with the engine's Execute like any other.
//
// # OTP global
//
// The node is a visible member of its cluster's global (package node/global, run by global.go): it answers
// global_name_server's connect, lock and name protocol as a BEAM node does, so global:sync/0, trans/4 and
// set_lock over every node complete and global connects the cluster's nodes to it. Node.RegisterGlobal,
// UnregisterGlobal, WhereisGlobal and SyncGlobal are global's register_name, unregister_name, whereis_name and
// sync from Go; RegisterGlobal takes any live pid of this node, ergo process or served pid (HooksPid, a
// service's). A hidden node (Options.Hidden) and hidden peers take no part in it.
//
// # Distribution protocol
//
// The node advertises the flags OTP 25 requires plus big creation, V4 node containers (DFLAG_V4_NC), aliases and
// spawn requests; not the distribution header atom cache and not fragments. Every packet is therefore a
// pass-through one (type 112): the control message and the message, each a whole external term, decoded
// straight from the read buffer with package etf.
//
// Control messages: SEND, REG_SEND, SEND_SENDER, ALIAS_SEND and their _TT forms, LINK, UNLINK, UNLINK_ID (with
// its ack), EXIT, EXIT2, their _TT and PAYLOAD_ forms, MONITOR_P, DEMONITOR_P, MONITOR_P_EXIT (and its
// PAYLOAD_ form), SPAWN_REQUEST and SPAWN_REPLY (and _TT). Messages for ergo processes go to ergo's router;
// a full ergo mailbox holds up the connection's reader for up to five seconds (back-pressure) before the message
// is dropped with a warning. ergo's proxy features answer "not supported".
//
// A packet whose control message does not decode is logged and dropped; a message that does not decode, or a
// packet above Options.MaxMessageSize, likewise, but when it is a $gen_call whose From can be read the caller
// gets {error, {badterm, Detail}}. The reader has always taken the whole packet, so the link stays in step. An
// idle connection ticks every Options.TickInterval and answers ticks; a peer silent for four to five intervals
// is dropped.
//
// # Performance
//
// Each connection has one reader; its writes go out in order per sender, batched: a sender with nothing ahead
// of it writes itself, otherwise its packet waits in a queue (senders block while it is full) that the writer
// loop empties in one flush. Big binaries in a message are written from their own memory. A plain TCP link is
// read and written with raw system calls on Go's poller, which spares a scheduler transition per call, and its
// reader re-reads an empty socket for up to 100 µs before parking while a peer calling one at a time keeps its
// requests coming that fast. When the peer has many gen_server calls in flight (its monitors on hornbeam_hooks
// tell how many, reads that bring several requests that they come at once), the reader instead sleeps up to
// Options.Coalesce after a read that brought a whole call, so the requests that come meanwhile are served and
// answered in one batch; the sleep is a third of the peer's round trip, measured by Little's law, and none
// below 80 µs (rawio.Socket, in internal/rawio). A call run on the reader that is still running 1 ms after
// it started (the watchdog looks every 5 ms) gets reading handed to a new goroutine, so a slow handler holds up
// other calls for a few milliseconds at most.
//
// Port mode, the same protocol with no node at all, is package port.
//
// ergo registers -ergo.* flags on the global flag set and prints warnings to the standard logger; this package
// removes those flags when it loads and switches the warnings off, logging what matters to Options.Logger.
package node
