package proto

import "github.com/hornbeam-go/hornbeam/etf"

// The atoms of the hooks protocol (docs/protocol.md), the one place they are spelled.
const (
	// Ops: the first element of a request, or the whole request for all.
	AtomExecute      = etf.Atom("execute")
	AtomExecuteAsync = etf.Atom("execute_async")
	AtomAwaitResult  = etf.Atom("await_result")
	AtomCancel       = etf.Atom("cancel")
	AtomStream       = etf.Atom("stream")
	AtomReg          = etf.Atom("reg")
	AtomUnreg        = etf.Atom("unreg")
	AtomFind         = etf.Atom("find")
	AtomAll          = etf.Atom("all")

	// Replies and options.
	AtomOK         = etf.Atom("ok")
	AtomError      = etf.Atom("error")
	AtomBadRequest = etf.Atom("bad_request")
	AtomBadterm    = etf.Atom("badterm")
	AtomInfinity   = etf.Atom("infinity")
	AtomTimeout    = etf.Atom("timeout")
	AtomWindow     = etf.Atom("window")
	AtomErlang     = etf.Atom("erlang")

	// Streams: {hornbeam_stream, StreamRef, Msg} to the consumer, Msg one of {chunk, C}, {chunks, [C]}, done
	// and {error, Reason}; {hornbeam_stream_credit, StreamRef, N} and {hornbeam_stream_close, StreamRef} to
	// the producer.
	AtomHornbeamStream = etf.Atom("hornbeam_stream")
	AtomStreamCredit   = etf.Atom("hornbeam_stream_credit")
	AtomStreamClose    = etf.Atom("hornbeam_stream_close")
	AtomChunk          = etf.Atom("chunk")
	AtomChunks         = etf.Atom("chunks")
	AtomDone           = etf.Atom("done")

	// Erlang handlers: the requests hornbeam_hooks sends the server of an {erlang, Server} hook.
	AtomHornbeamHandle       = etf.Atom("hornbeam_handle")
	AtomHornbeamHandleStream = etf.Atom("hornbeam_handle_stream")

	// Port mode's envelope: {call, Ref, Request} in, {reply, Ref, Reply} out.
	AtomCall      = etf.Atom("call")
	AtomReply     = etf.Atom("reply")
	AtomUndefined = etf.Atom("undefined")
)
