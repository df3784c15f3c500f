// Package pg runs a peer of one scope of OTP's pg (process groups, kernel's pg.erl in OTP 23 and later), so that
// the processes of a node that is not a BEAM node appear in pg:get_members/2 on the BEAM nodes it is connected
// to, and the members those nodes have can be read from Go.
//
// A Scope is a state machine with no I/O: the node that runs it feeds it the messages that arrive for the scope
// (Handle), its connections going up and down (NodeUp, NodeDown), the end of a monitored remote scope process
// (Down) and the joins and leaves of its own processes (Join, Leave); the Scope acts through an Env, which sends
// messages and sets up monitors on the node's connections.
//
// # Protocol
//
// Every node that runs a scope registers one process under the scope's name. The scope processes of two nodes
// find each other and exchange their members like this (as OTP 25's pg does; A and B are scope pids):
//
//	A -> {Scope, NodeB}  {discover, A}                    when A starts, and for each node that connects
//	B -> A               {'$gen_cast', {sync, B, Groups}} B's local members: [{Group, [Pid]}]
//	B -> A               {discover, B}                    only when B did not know A; B monitors A
//	A -> B               {'$gen_cast', {sync, A, Groups}} A monitors B when it did not know it
//	A -> B               {join, A, Group, PidOrPids}      a local join, to every scope A knows
//	A -> B               {leave, A, PidOrPids, [Group]}   a local leave, likewise
//
// A sync replaces everything known of its sender. A join or leave from a scope that is not known is dropped.
// When a known scope process ends, or its node disconnects, its members leave. A BEAM node does not discover a
// node that connects to it hidden, nor any node when its scope starts later than the connection: Discover,
// called periodically, asks again every connected node whose scope is not known yet.
//
// Groups are any terms, compared as Erlang does (=:=); members are pids, listed once per join.
package pg
