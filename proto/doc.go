// Package proto is the hooks protocol (docs/protocol.md) with no transport: the one place where a request term
// is understood and its reply built, whatever carried it. It does no I/O and imports only hooks and etf.
//
// A transport (package node for Erlang distribution and rpc, package port for an Erlang port, package python
// for Python processes) reads a frame, strips its own envelope (a gen_server From, a port Ref, a Python request
// id) and hands the request term to a Server:
//
//	reply, then := srv.Handle(ctx, proto.Caller{Pid: pid, T: transport}, req)
//	// write reply in the transport's envelope, then:
//	if then != nil {
//		then() // starts what follows the reply: a stream's chunks
//	}
//
// Handle parses the term into one Request (Parse) and runs its row of the op table (execute, execute_async,
// await_result, cancel, stream, reg, unreg, find, all) over a hooks.Engine. The Server keeps, per caller, the
// async tasks and streams it holds, and releases them when the transport reports the caller gone (Down) or the
// transport itself ends (Gone). Stream messages go back to the caller through its Transport; the credit and
// close messages that steer them come in through Steer.
//
// Stream credit is one mechanism for every stream on the Go side: a producer spends a Credit per chunk
// (Produce batches what piles up into {chunks, [C]}), and a consumer grants credit back half a window at a
// time with a Refill.
//
// Every atom of the protocol is declared in atoms.go, and only there.
package proto
