// Package rpc serves rpc and erpc on the node with no Erlang code loaded (docs/protocol.md, "rpc and erpc"):
// rpc:call, rpc:cast, erpc:call and erpc:cast from other nodes reach hornbeam_hooks' functions (execute/4,
// execute_async/4, await_result/2, find/1, all/0, unreg/1) and erlang:node/0; other functions give undef.
//
// # How a call flows
//
// The classic rex server: package node serves the registered name rex with Server.HandleRex, which takes
// {'$gen_call', From, {call, M, F, A, GroupLeader}} (or block_call), runs the hooks request M:F(A) stands for
// through the proto.Server on a goroutine of its own, and replies to From; {'$gen_cast', {cast, M, F, A, GL}}
// runs and answers nothing, and {Pid, features_request} gets features_reply with erpc in it.
//
// erpc: erpc:call(Node, M, F, A) sends SPAWN_REQUEST for erpc:execute_call(Res, M, F, A) with the options
// monitor and {reply, error_only}; the spawned process exits with {Res, return, Value} (or {Res, error, Reason,
// Stack}) and the caller reads the result from the 'DOWN' message. The transport hands the request to
// Server.SpawnRequest, which answers with a pid of this node that runs no ergo process: SPAWN_REPLY, then, when
// the call is done, MONITOR_P_EXIT (and EXIT when linked) carrying that exit reason. erpc:cast and rpc:cast
// send erpc:execute_cast(M, F, A). An exit signal to the pid stops the call, as does its caller's node going
// down (PeerDown); Pids is the service of those pids in the transport's table.
package rpc
