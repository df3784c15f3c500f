// Package python serves hooks written in Python. A Pool runs worker
// processes (python3 -m hornbeam_erlang.worker module[:function]) and accepts
// Python processes that attach over a Unix socket; each speaks the frame
// protocol of docs/python.md: {packet,4} external-term frames on fds 3 and 4
// (or the socket), with numbered requests in both directions.
//
// Every app path a process registers becomes a hook of kind "python" in the
// hooks engine, served by every process that registered it: a call goes to
// the least busy one. Requests from Python (execute, execute_async,
// await_result, stream) run on the engine, so Python reaches Go, Erlang and
// other Python hooks, its own process included.
//
// A request from Python flows: the link's reader (link.go) reads a frame, strips its request id and hands the
// hooks-protocol request left to package proto, which runs it on the engine; the reply goes back as
// {reply, Id, Reply}. An execute runs on the reader itself, so a quick Go hook costs no goroutine; the pool's
// watchdog (internal/rawio) hands reading to a new goroutine when it runs long, and so does the call itself
// when it waits on a Python process (whose reply the reader may have to read). Pipes and sockets are read and
// written with rawio's raw system calls, reads through a buffer, so a frame usually costs one read(2). A stream the process asks for is produced with proto.Produce, spending the credit the
// process grants; a stream Python produces for the node (stream.go) is consumed with proto.Refill, which
// grants credit back half a window at a time.
//
// A worker that exits is restarted with backoff; its calls and streams in
// flight fail at once with {worker_exit, Detail}. Workers exit when their fd 3
// reaches EOF, so they never outlive the node. The hornbeam_erlang package is
// embedded in this package and unpacked into a temporary directory that is
// put first on the workers' PYTHONPATH.
package python

import "embed"

// pkgName is the Python package embedded in pkgFS.
const pkgName = "hornbeam_erlang"

//go:embed hornbeam_erlang/*.py hornbeam_erlang/py.typed
var pkgFS embed.FS
