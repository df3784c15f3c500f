package dist

import (
	"errors"
	"fmt"
	"time"

	"github.com/ergo-services/ergo/gen"
	"github.com/ergo-services/ergo/lib"
	"github.com/hornbeam-go/hornbeam/etf"
	"github.com/hornbeam-go/hornbeam/proto"
)

// AtomGenCall tags a gen_server call, {'$gen_call', From, Req}.
const AtomGenCall = etf.Atom("$gen_call")

var (
	atomGenCast = etf.Atom("$gen_cast")
	atomAlias   = etf.Atom("alias")
	atomBadarg  = etf.Atom("badarg")
	atomNormal  = etf.Atom("normal")
	atomName    = etf.Atom("name")
)

// HandlePacket decodes one packet, as the reader took it off the link without its length header, and acts on
// it; b comes from TakeFrame and goes back to the pool. A packet that does not decode is logged and dropped;
// the stream stays in step because the reader has already taken the whole packet off it.
func (c *Conn) HandlePacket(b []byte) {
	defer releaseFrame(b)
	if b[0] != typePassThrough {
		c.Warn("node: dropped a packet of unknown type", "type", b[0])
		return
	}
	c.load.Packets++
	if op, ok := monitorsServedName(b, c.t.served.lasting); ok {
		c.load.CountCaller(op == opMonitorP)
		return
	}
	dec := c.decoder(b)
	ctl, op, n, err := decodeControl(dec, b)
	if err != nil {
		c.Warn("node: dropped a packet", "error", err)
		return
	}
	var payload etf.Term
	if rest := b[1+n:]; len(rest) > 0 {
		c.load.Messages++
		if payload, err = dec.Decode(rest); err != nil {
			c.badPayload(op, rest, err)
			return
		}
	}
	if err := c.dispatch(op, ctl, payload); errors.Is(err, lib.ErrProcessUnknown) {
		c.t.log.Debug("node: dropped a message to an unknown process", "peer", c.peer, "control", brief(ctl))
	} else if err != nil {
		c.Warn("node: dropped a control message", "control", brief(ctl), "error", err)
	}
}

// decoder decodes the terms of one packet; a compressed one may inflate to Options.MaxInflatedSize. Binaries
// of a packet bigger than pooledFrameCap share its buffer (such buffers never return to the pool), so a 10 MB
// binary is not copied twice.
func (c *Conn) decoder(packet []byte) etf.DecodeOptions {
	return etf.DecodeOptions{MaxSize: c.t.cfg.MaxInflatedSize, AliasBinaries: len(packet) > pooledFrameCap}
}

// genCallFrom reads From out of a message that starts {'$gen_call', From, ...}, even when what follows From
// does not decode.
func genCallFrom(msg []byte) (etf.Term, bool) {
	head, ok := etf.DecodeTupleHead(msg, 3, 2)
	if !ok || head[0] != AtomGenCall {
		return nil, false
	}
	return head[1], true
}

// decodeControl decodes the control message of a pass-through packet and returns it with its operation and
// its size in bytes.
func decodeControl(dec etf.DecodeOptions, packet []byte) (etf.Tuple, int, int, error) {
	term, n, err := dec.DecodePrefix(packet[1:])
	if err != nil {
		return nil, 0, 0, fmt.Errorf("node: control message: %w", err)
	}
	ctl, ok := term.(etf.Tuple)
	op := 0
	if ok && len(ctl) > 0 {
		op, ok = etf.Int(ctl[0])
	}
	if !ok {
		return nil, 0, 0, fmt.Errorf("node: malformed control message %s", brief(term))
	}
	return ctl, op, n, nil
}

// oversizedHead is how much of a packet above Options.MaxMessageSize is read to answer a $gen_call in it.
const oversizedHead = 64 << 10

// oversized answers a packet of size bytes, above the limit, of which head is the start: it is dropped, and a
// $gen_call whose control message and From lie within head is answered {error, {badterm, Detail}}.
func (c *Conn) oversized(head []byte, size int) {
	err := fmt.Errorf("node: a message of %d bytes exceeds the limit of %d", size, c.t.cfg.MaxMessageSize)
	if head[0] != typePassThrough {
		c.Warn("node: dropped an oversized packet", "error", err)
		return
	}
	_, op, n, cerr := decodeControl(etf.DecodeOptions{}, head)
	if cerr != nil {
		c.Warn("node: dropped an oversized packet", "error", err)
		return
	}
	c.badPayload(op, head[1+n:], err)
}

// badPayload logs a message that does not decode and, when it is a $gen_call whose From still reads, answers
// the caller {error, {badterm, Detail}} so it does not wait out its timeout.
func (c *Conn) badPayload(op int, payload []byte, err error) {
	c.Warn("node: dropped a message that does not decode", "op", op, "error", err)
	switch op {
	case opSend, opSendTT, opRegSend, opRegSendTT, opSendSender, opSendSenderTT, opAliasSend, opAliasSendTT:
	default:
		return
	}
	if from, ok := genCallFrom(payload); ok {
		c.Reply(from, proto.Badterm(err))
	}
}

// dispatch acts on one decoded control message.
func (c *Conn) dispatch(op int, ctl etf.Tuple, payload etf.Term) error {
	r := ctlReader{t: ctl}
	switch op {
	case opSend, opSendTT:
		to := r.pid(2)
		if r.err != nil {
			return r.err
		}
		return c.deliver(etf.Pid{}, to, payload)
	case opSendSender, opSendSenderTT:
		from, to := r.pid(1), r.pid(2)
		if r.err != nil {
			return r.err
		}
		return c.deliver(from, to, payload)
	case opRegSend, opRegSendTT:
		from, name := r.pid(1), r.atom(3)
		if r.err != nil {
			return r.err
		}
		return c.deliverReg(from, name, payload)
	case opAliasSend, opAliasSendTT:
		from, alias := r.pid(1), r.ref(2)
		if r.err != nil {
			return r.err
		}
		return c.route(func() error { return c.router.RouteSendAlias(from, etf.Alias(alias), ToErgo(payload)) })
	case opLink:
		from, to := r.pid(1), r.pid(2)
		if r.err != nil {
			return r.err
		}
		return c.link(from, to, true)
	case opUnlink:
		from, to := r.pid(1), r.pid(2)
		if r.err != nil {
			return r.err
		}
		return c.link(from, to, false)
	case opUnlinkID:
		id, from, to := r.term(1), r.pid(2), r.pid(3)
		if r.err != nil {
			return r.err
		}
		if err := c.link(from, to, false); err != nil {
			return err
		}
		return c.send(etf.Tuple{opUnlinkIDAck, id, to, from}, nil, false)
	case opExit, opExit2:
		from, to, reason := r.pid(1), r.pid(2), r.term(3)
		if r.err != nil {
			return r.err
		}
		return c.exitSignal(op == opExit, from, to, reason)
	case opExitTT, opExit2TT:
		from, to, reason := r.pid(1), r.pid(2), r.term(4)
		if r.err != nil {
			return r.err
		}
		return c.exitSignal(op == opExitTT, from, to, reason)
	case opPayloadExit, opPayloadExitTT, opPayloadExit2, opPayloadExit2TT:
		from, to := r.pid(1), r.pid(2)
		if r.err != nil {
			return r.err
		}
		return c.exitSignal(op == opPayloadExit || op == opPayloadExitTT, from, to, payload)
	case opMonitorP:
		from, ref := r.pid(1), r.ref(3)
		if r.err != nil {
			return r.err
		}
		return c.monitor(from, r.term(2), ref)
	case opDemonitorP:
		from, ref := r.pid(1), r.ref(3)
		if r.err != nil {
			return r.err
		}
		return c.demonitor(from, r.term(2), ref)
	case opMonitorPExit:
		ref, reason := r.ref(3), r.term(4)
		if r.err != nil {
			return r.err
		}
		return c.monitorExit(r.term(1), r.term(2), ref, reason)
	case opPayloadMonitorExit:
		ref := r.ref(3)
		if r.err != nil {
			return r.err
		}
		return c.monitorExit(r.term(1), r.term(2), ref, payload)
	case opSpawnRequest, opSpawnRequestTT:
		return c.spawnRequest(&r, payload)
	case opSpawnReply, opSpawnReplyTT:
		ref, to, result := r.ref(1), r.pid(2), r.term(4)
		if r.err != nil {
			return r.err
		}
		return c.router.RouteSpawnReply(to, ref, result)
	case opNodeLink, opGroupLeader, opUnlinkIDAck:
		return nil
	}
	return fmt.Errorf("node: unknown control operation %d", op)
}

// deliver hands a message sent to a local pid to the service of the pid (served.go) or to ergo.
func (c *Conn) deliver(from, to etf.Pid, payload etf.Term) error {
	if svc := c.t.served.Pid(to); svc != nil && svc.Message != nil && svc.Message(c, from, to, payload) {
		return nil
	}
	return c.route(func() error { return c.router.RouteSend(from, to, ToErgo(payload)) })
}

// deliverReg hands a message sent to a registered name to the service of the name (served.go) or to ergo.
func (c *Conn) deliverReg(from etf.Pid, name etf.Atom, payload etf.Term) error {
	if svc := c.t.served.Name(name); svc != nil {
		if taken, err := svc.Message(c, from, payload); taken {
			return err
		}
	}
	err := c.route(func() error {
		return c.router.RouteSendReg(from, gen.ProcessID{Name: string(name), Node: c.t.cfg.Node}, ToErgo(payload))
	})
	if errors.Is(err, lib.ErrProcessUnknown) {
		// As on a BEAM node, a message to a name nobody has is dropped without a word: pg scopes, for one,
		// send discover to every connected node, whether it runs the scope or not.
		c.t.log.Debug("node: dropped a message to an unregistered name", "peer", c.peer, "name", name)
		return nil
	}
	return err
}

// link links (on) or unlinks the remote pid from and the local pid to, through the service of to or ergo.
func (c *Conn) link(from, to etf.Pid, on bool) error {
	if svc := c.t.served.Pid(to); svc != nil && svc.Link != nil && svc.Link(c, from, to, on) {
		return nil
	}
	if on {
		return c.router.RouteLink(from, to)
	}
	return c.router.RouteUnlink(from, to)
}

// mailboxWait is how long a message to a full ergo mailbox is retried before it is dropped with a warning.
const mailboxWait = 5 * time.Second

// route delivers a message to an ergo process. While the process's mailbox is full it retries, holding up this
// connection's reader and so the peer's sends (back-pressure), for up to mailboxWait.
func (c *Conn) route(deliver func() error) error {
	deadline := time.Now().Add(mailboxWait)
	backoff := 50 * time.Microsecond
	for {
		err := deliver()
		if !errors.Is(err, lib.ErrProcessMailboxFull) || time.Now().After(deadline) {
			return err
		}
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-c.done:
			t.Stop()
			return errClosed
		}
		backoff = min(2*backoff, 10*time.Millisecond)
	}
}

// exitSignal routes an exit signal: one that reaches a served pid goes to its service (an erpc call stops), a
// link exit goes to ergo's router, and an exit/2 other than normal ends the ergo process it names (ergo
// processes do not trap exits).
func (c *Conn) exitSignal(link bool, from, to etf.Pid, reason etf.Term) error {
	if svc := c.t.served.Pid(to); svc != nil && svc.Exit != nil && svc.Exit(c, from, to, reason) {
		return nil
	}
	if link {
		return c.router.RouteExit(to, from, ReasonString(reason))
	}
	if reason == atomNormal {
		return nil
	}
	return c.t.cfg.Exit(to, reason)
}

// monitor sets up a monitor by the remote pid from on a local pid or name.
func (c *Conn) monitor(from etf.Pid, target etf.Term, ref etf.Ref) error {
	switch t := target.(type) {
	case etf.Pid:
		if svc := c.t.served.Pid(t); svc != nil && svc.Monitor != nil && svc.Monitor(c, from, t, ref) {
			return nil
		}
		return c.router.RouteMonitor(from, t, ref)
	case etf.Atom:
		if svc := c.t.served.Name(t); svc != nil && svc.Lasting {
			// The name lives as long as the node, and the node's end closes the connection, which the peer
			// reports as noconnection: no table is needed for these monitors.
			return nil
		}
		return c.router.RouteMonitorReg(from, gen.ProcessID{Name: string(t), Node: c.t.cfg.Node}, ref)
	}
	return fmt.Errorf("node: cannot monitor %s", brief(target))
}

// demonitor removes a monitor set up by monitor.
func (c *Conn) demonitor(from etf.Pid, target etf.Term, ref etf.Ref) error {
	switch t := target.(type) {
	case etf.Pid:
		if svc := c.t.served.Pid(t); svc != nil && svc.Demonitor != nil && svc.Demonitor(c, from, t, ref) {
			return nil
		}
	case etf.Atom:
		if svc := c.t.served.Name(t); svc != nil && svc.Lasting {
			return nil
		}
	}
	return c.router.RouteDemonitor(from, ref)
}

// monitorsServedName reports, from the bytes alone, whether packet is a MONITOR_P or DEMONITOR_P on a name
// that lasting says lives as long as the node (hornbeam_hooks, rex), which need nothing done (see monitor),
// and which of the two. gen_server:call sends one of each per call, so they are recognized without being
// decoded.
func monitorsServedName(packet []byte, lasting func(name []byte) bool) (int, bool) {
	// 112, then the control message {Op, FromPid, Name, Ref}.
	if len(packet) < 1 {
		return 0, false
	}
	ctl := packet[1:]
	arity, i, ok := etf.PeekTuple(ctl)
	if !ok || arity != 4 {
		return 0, false
	}
	op, i, ok := etf.PeekSmallInt(ctl, i)
	if !ok || (op != opMonitorP && op != opDemonitorP) {
		return 0, false
	}
	if i, ok = etf.SkipPid(ctl, i); !ok {
		return 0, false
	}
	name, _, ok := etf.PeekAtom(ctl, i)
	if !ok {
		return 0, false
	}
	return op, lasting(name)
}

// monitorExit delivers the end of a remote process that watcher, a local pid, monitored: to the service of
// watcher when Go code serves it, else to ergo.
func (c *Conn) monitorExit(terminated, watcher etf.Term, ref etf.Ref, reason etf.Term) error {
	if to, ok := watcher.(etf.Pid); ok {
		if svc := c.t.served.Pid(to); svc != nil && svc.Down != nil && svc.Down(c, terminated, ref, reason) {
			return nil
		}
	}
	switch t := terminated.(type) {
	case etf.Pid:
		return c.router.RouteMonitorExit(t, ReasonString(reason), ref)
	case etf.Atom:
		return c.router.RouteMonitorExitReg(gen.ProcessID{Name: string(t), Node: c.peer}, ReasonString(reason), ref)
	}
	return fmt.Errorf("node: malformed monitor exit from %s", brief(terminated))
}

// Reply answers a gen_server call whose From is {Pid, Tag}, from hornbeam_hooks' pid: through the alias when
// Tag is [alias | Ref] (OTP 24 and later), else to Pid.
func (c *Conn) Reply(from etf.Term, reply etf.Term) error {
	return c.ReplyFlush(from, reply, true)
}

// ReplyFlush is Reply that leaves the reply buffered for the reader to flush when flush is false.
func (c *Conn) ReplyFlush(from etf.Term, reply etf.Term, flush bool) error {
	f, ok := from.(etf.Tuple)
	if !ok || len(f) != 2 {
		return fmt.Errorf("node: malformed From %s", brief(from))
	}
	var control etf.Tuple
	if alias, ok := aliasTagTerm(f[1]); ok {
		control = etf.Tuple{opAliasSend, c.t.selfTerm, alias}
	} else if _, ok := f[0].(etf.Pid); ok {
		control = etf.Tuple{opSend, etf.Atom(""), f[0]}
	} else {
		return fmt.Errorf("node: malformed From %s", brief(from))
	}
	fr, err := encodeFrame(control, etf.Tuple{f[1], reply}, true)
	if err != nil {
		return err
	}
	return c.enqueueFlush(fr, flush)
}

// aliasTag returns Ref when tag is [alias | Ref].
func aliasTag(tag etf.Term) (etf.Ref, bool) {
	t, ok := aliasTagTerm(tag)
	if !ok {
		return etf.Ref{}, false
	}
	return t.(etf.Ref), true
}

// aliasTagTerm is aliasTag returning Ref as the term it already is, so that encoding it boxes nothing anew.
func aliasTagTerm(tag etf.Term) (etf.Term, bool) {
	l, ok := tag.(etf.ImproperList)
	if !ok || len(l.Elems) != 1 || l.Elems[0] != atomAlias {
		return nil, false
	}
	_, ok = l.Tail.(etf.Ref)
	return l.Tail, ok
}

// GenCall splits {'$gen_call', From, Req}.
func GenCall(msg etf.Term) (from etf.Term, req etf.Term, ok bool) {
	t, ok := msg.(etf.Tuple)
	if !ok || len(t) != 3 || t[0] != AtomGenCall {
		return nil, nil, false
	}
	return t[1], t[2], true
}

// GenCast reads {'$gen_cast', Req}.
func GenCast(msg etf.Term) (etf.Term, bool) {
	t, ok := msg.(etf.Tuple)
	if !ok || len(t) != 2 || t[0] != atomGenCast {
		return nil, false
	}
	return t[1], true
}

// ReasonString renders an exit reason for ergo, which keeps reasons as strings.
func ReasonString(reason etf.Term) string {
	if a, ok := reason.(etf.Atom); ok {
		return string(a)
	}
	return brief(reason)
}

// spawnRequest serves SPAWN_REQUEST {29, ReqId, From, GroupLeader, {M, F, Arity}, Opts}: Config.Spawn runs
// what it takes (erpc's calls and casts), any other spawn goes to ergo (which spawns processes registered with
// ProvideRemoteSpawn and answers notsup for the rest); a malformed one is answered badarg.
func (c *Conn) spawnRequest(r *ctlReader, payload etf.Term) error {
	req, from, opts := r.ref(1), r.pid(2), r.term(5)
	t, ok := r.term(4).(etf.Tuple)
	if r.err != nil {
		return r.err
	}
	args, ok2 := etf.Elems(payload)
	if !ok || len(t) != 3 || !ok2 {
		return c.SendSpawnReply(req, from, 0, atomBadarg)
	}
	m, ok1 := t[0].(etf.Atom)
	f, ok2 := t[1].(etf.Atom)
	if !ok1 || !ok2 {
		return c.SendSpawnReply(req, from, 0, atomBadarg)
	}
	optList, _ := etf.Elems(opts)
	if taken, err := c.t.cfg.Spawn(c, req, from, m, f, args, optList); taken {
		return err
	}
	name := ""
	for _, o := range optList {
		if ot, ok := o.(etf.Tuple); ok && len(ot) == 2 && ot[0] == atomName {
			if a, ok := ot[1].(etf.Atom); ok {
				name = string(a)
			}
		}
	}
	return c.router.RouteSpawnRequest(c.t.cfg.Node, string(m), gen.RemoteSpawnRequest{
		From: from, Ref: req, Options: gen.RemoteSpawnOptions{Name: name, Function: string(f)},
	}, args...)
}

// ctlReader reads typed fields of a control tuple; the first mismatch sticks in err.
type ctlReader struct {
	t   etf.Tuple
	err error
}

func (r *ctlReader) term(i int) etf.Term {
	if i >= len(r.t) {
		if r.err == nil {
			r.err = fmt.Errorf("node: control message %s has no element %d", brief(r.t), i+1)
		}
		return nil
	}
	return r.t[i]
}

func (r *ctlReader) pid(i int) etf.Pid {
	v, ok := r.term(i).(etf.Pid)
	r.check(ok, i, "pid")
	return v
}

func (r *ctlReader) ref(i int) etf.Ref {
	v, ok := r.term(i).(etf.Ref)
	r.check(ok, i, "reference")
	return v
}

func (r *ctlReader) atom(i int) etf.Atom {
	v, ok := r.term(i).(etf.Atom)
	r.check(ok, i, "atom")
	return v
}

func (r *ctlReader) check(ok bool, i int, want string) {
	if !ok && r.err == nil {
		r.err = fmt.Errorf("node: control message %s: element %d is not a %s", brief(r.t), i+1, want)
	}
}
