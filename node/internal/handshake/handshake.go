package handshake

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ergo-services/ergo/lib"
	ergonode "github.com/ergo-services/ergo/node"
)

// The distribution handshake, version 6 (erl_dist_protocol.html, "Distribution Handshake"): the only one OTP 25
// speaks. Each message is framed by a 2-byte big-endian length, or a 4-byte one over TLS (inet_tls_dist sets
// {packet, 4} before the handshake).
const (
	hsName      = 'N' // send_name: flags(8) creation(4) nlen(2) name; send_challenge: challenge(4) after the flags
	hsOldName   = 'n' // the version 5 send_name of nodes older than OTP 23
	hsStatus    = 's' // status text
	hsReply     = 'r' // challenge(4) digest(16)
	hsAck       = 'a' // digest(16)
	digestLen   = md5.Size
	nameMsgLen  = 1 + 8 + 4 + 2     // send_name before the name
	chalMsgLen  = 1 + 8 + 4 + 4 + 2 // send_challenge before the name
	replyMsgLen = 1 + 4 + digestLen
	ackMsgLen   = 1 + digestLen
	// maxNodeName is the longest node name in bytes: a node name is an atom.
	maxNodeName = 255
	// maxHandshakeMsg bounds every handshake message read; the longest legal one is a challenge with a full name.
	maxHandshakeMsg = chalMsgLen + maxNodeName
	// Timeout is how long a whole handshake may take, counted from its start: a peer that trickles its bytes
	// does not get more.
	Timeout = 5 * time.Second
)

// Distribution flags (dist.hrl).
const (
	flagPublished          = 0x1
	flagExtendedReferences = 0x4
	flagDistMonitor        = 0x8
	flagFunTags            = 0x10
	flagDistMonitorName    = 0x20
	flagNewFunTags         = 0x80
	flagExtendedPidsPorts  = 0x100
	flagExportPtrTag       = 0x200
	flagBitBinaries        = 0x400
	flagNewFloats          = 0x800
	flagUnicodeIO          = 0x1000
	flagSmallAtomTags      = 0x4000
	flagUTF8Atoms          = 0x10000
	flagMapTag             = 0x20000
	flagBigCreation        = 0x40000
	flagHandshake23        = 0x1000000
	flagSpawn              = 1 << 32
	flagNameMe             = 1 << 33
	flagV4NC               = 1 << 34
	flagAlias              = 1 << 35

	// nodeFlags are the flags this node advertises (see package node's doc), flagPublished aside: a hidden node
	// leaves it out.
	nodeFlags = flagExtendedReferences | flagDistMonitor | flagFunTags | flagDistMonitorName | flagNewFunTags |
		flagExtendedPidsPorts | flagExportPtrTag | flagBitBinaries | flagNewFloats | flagUnicodeIO |
		flagSmallAtomTags | flagUTF8Atoms | flagMapTag | flagBigCreation | flagHandshake23 | flagSpawn |
		flagV4NC | flagAlias
)

// Why a handshake fails, when not for an I/O error; the errors returned wrap one of these.
var (
	// errCookieMismatch: the peer's challenge reply does not match this node's cookie.
	errCookieMismatch = errors.New("invalid challenge reply (cookie mismatch?)")
	// errBadAck: the peer's challenge ack does not match this node's cookie.
	errBadAck = errors.New("invalid challenge ack (cookie mismatch?)")
	// errClosedAfterReply: the peer closed the link after this node's challenge reply, which is how an Erlang
	// node refuses a wrong cookie.
	errClosedAfterReply = errors.New("peer closed the link after our challenge reply (cookie mismatch?)")
	// errMalformed: a message that breaks the protocol.
	errMalformed = errors.New("malformed handshake message")
	// errRefused: the peer answered send_name with a status other than ok.
	errRefused = errors.New("refused by the peer")
)

// Handshake runs the distribution handshake for ergo (node.Options.Handshake) and for the acceptor. Start
// handshakes the connections this node opens; connections peers open are handshaked by the acceptor (accept,
// below), and ergo's Accept only takes over the ones it hands off (see Acceptor).
type Handshake struct {
	log    *slog.Logger
	hidden bool
	acc    *Acceptor
	claims attempts // the handshakes that may become a connection, one per peer (pending.go)

	name     string // set by Init, before ergo listens or connects
	creation uint32
}

// New returns the handshake of a node that is hidden or not, and makes it acc's: acc handshakes the
// connections peers open with it and hands them over, and ergo's dials resolved by acc's Registrar go through
// its Dialer. acc may be nil.
func New(log *slog.Logger, hidden bool, acc *Acceptor) *Handshake {
	h := &Handshake{log: log, hidden: hidden, acc: acc}
	if acc != nil {
		acc.hs = h
	}
	return h
}

// Init takes the node's name and creation; the flags advertised are this package's own (nodeFlags).
func (h *Handshake) Init(nodename string, creation uint32, _ ergonode.Flags) error {
	h.name, h.creation = nodename, creation
	return nil
}

// Version is the handshake version registered with EPMD.
func (h *Handshake) Version() ergonode.HandshakeVersion { return 6 }

// flags returns the flags this node sends.
func (h *Handshake) flags() uint64 {
	if h.hidden {
		return nodeFlags
	}
	return nodeFlags | flagPublished
}

// Start handshakes a connection this node opened to a peer whose name it does not know beforehand; ergo's own
// dials go through Dialer's, which claim their peer (pending.go). It fails after Timeout; a failure is logged
// with the peer's name once known.
func (h *Handshake) Start(remote net.Addr, conn lib.NetReadWriter, tls bool, cookie string) (ergonode.HandshakeDetails, error) {
	return h.start(remote, conn, tls, cookie, "")
}

// start handshakes a connection this node opened to peer, claiming peer first when it is named.
func (h *Handshake) start(remote net.Addr, conn lib.NetReadWriter, tls bool, cookie, peer string) (ergonode.HandshakeDetails, error) {
	var a *attempt
	if peer != "" {
		sock, _ := conn.(io.Closer)
		var err error
		if a, err = h.claims.dial(peer, sock); err != nil {
			h.log.Debug("node: connection not opened", "peer", peer, "error", err)
			return ergonode.HandshakeDetails{}, fmt.Errorf("node: connection to %s: %w", peer, err)
		}
	}
	d, err := withDeadline(conn, func() (ergonode.HandshakeDetails, error) {
		return h.dial(newHSFramer(conn, tls), cookie, a)
	})
	if err != nil && a != nil && a.isLost() && !errors.Is(err, errLostRace) {
		err = fmt.Errorf("node: connection to %s: %w", peer, errLostRace)
	}
	switch {
	case err == nil:
		a.finished()
	case isSettled(err):
		a.release()
		h.log.Debug("node: connection given up for the one the other way", "peer", peer, "error", err)
	case isCookieError(err):
		a.release()
		h.log.Warn(err.Error(), "remote", remote)
	default:
		a.release()
		h.log.Warn("node: handshake failed", "remote", remote, "error", err)
	}
	return d, err
}

// Dialer returns the handshake of a connection this node opens to peer, for ergo's route to it (see
// Acceptor.Registrar): Start claims peer for the handshake.
func (h *Handshake) Dialer(peer string) ergonode.HandshakeInterface { return dialer{h: h, peer: peer} }

// Pending returns a channel that is closed when the handshake that claims peer ends (its connection served, or
// the handshake failed), or nil when none does. A dial that gave way to another handshake with the peer waits
// for it and then finds the connection, if any.
func (h *Handshake) Pending(peer string) <-chan struct{} { return h.claims.pending(peer) }

// dialer is the handshake of ergo's route to one peer.
type dialer struct {
	h    *Handshake
	peer string
}

// Init does nothing: ergo initializes the node's Handshake, whose name and creation the dialer uses.
func (d dialer) Init(string, uint32, ergonode.Flags) error { return nil }

// Version is the node's handshake version.
func (d dialer) Version() ergonode.HandshakeVersion { return d.h.Version() }

// Start handshakes the connection ergo opened to the dialer's peer, claiming the peer first.
func (d dialer) Start(remote net.Addr, conn lib.NetReadWriter, tls bool, cookie string) (ergonode.HandshakeDetails, error) {
	return d.h.start(remote, conn, tls, cookie, d.peer)
}

// Accept refuses: ergo accepts with the node's Handshake only.
func (d dialer) Accept(net.Addr, lib.NetReadWriter, bool, string) (ergonode.HandshakeDetails, error) {
	return ergonode.HandshakeDetails{}, errNotHandedOff
}

// Accept gives ergo the details of a connection the acceptor handshaked and handed off; it does no I/O, so
// that no peer can hold up ergo's accept loop, and refuses every other connection at once.
func (h *Handshake) Accept(remote net.Addr, _ lib.NetReadWriter, _ bool, _ string) (ergonode.HandshakeDetails, error) {
	return h.acc.take(remote)
}

// dial is the connecting side: send_name, recv_status, recv_challenge, send_challenge_reply, recv_challenge_ack.
// a is the claim on the peer, or nil when the peer is not known beforehand.
func (h *Handshake) dial(f *hsFramer, cookie string, a *attempt) (ergonode.HandshakeDetails, error) {
	var d ergonode.HandshakeDetails
	if err := f.write(h.nameMsg()); err != nil {
		return d, err
	}
	msg, err := f.read()
	if err != nil {
		return d, err
	}
	if msg[0] != hsStatus {
		return d, fmt.Errorf("node: handshake: %w: want a status, got tag %d", errMalformed, msg[0])
	}
	switch status := string(msg[1:]); status {
	case "ok", "ok_simultaneous":
	case "nok":
		// The peer's own dial to this node wins; this node's accept of it takes the claim.
		if a == nil {
			return d, fmt.Errorf("node: handshake: %w", errLostRace)
		}
		select {
		case <-a.lost:
			return d, fmt.Errorf("node: connection to %s: %w", a.peer, errLostRace)
		case <-time.After(Timeout):
			return d, fmt.Errorf("node: connection to %s: the peer answered nok and never connected: %w", a.peer, os.ErrDeadlineExceeded)
		}
	case "alive":
		// The peer still has a connection from this node: the new one replaces it unless this dial has given
		// way to the peer's own meanwhile.
		if a != nil && a.isLost() {
			_ = f.write([]byte("sfalse"))
			return d, fmt.Errorf("node: connection to %s: %w", a.peer, errLostRace)
		}
		if err := f.write([]byte("strue")); err != nil {
			return d, err
		}
	default:
		return d, fmt.Errorf("node: handshake: %w: status %q", errRefused, truncate(status, 32))
	}
	if msg, err = f.read(); err != nil {
		return d, err
	}
	flags, challenge, creation, peer, err := parseChallenge(msg)
	if err != nil {
		return d, err
	}
	if a != nil && peer != a.peer {
		return d, fmt.Errorf("node: handshake: %w: dialed %s, answered by %s", errMalformed, a.peer, peer)
	}
	mine := newChallenge()
	if err := f.write(replyMsg(mine, digest(challenge, cookie))); err != nil {
		return d, err
	}
	msg, err = f.read()
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
		return d, fmt.Errorf("node: connection to %s rejected: %w", peer, errClosedAfterReply)
	}
	if err != nil {
		return d, err
	}
	if len(msg) != ackMsgLen || msg[0] != hsAck {
		return d, fmt.Errorf("node: handshake with %s: %w: want a %d-byte challenge ack, got tag %d in %d bytes",
			peer, errMalformed, ackMsgLen, msg[0], len(msg))
	}
	if !sameDigest(msg[1:], digest(mine, cookie)) {
		return d, fmt.Errorf("node: connection to %s rejected: %w", peer, errBadAck)
	}
	return peerDetails(peer, creation, flags, a), nil
}

// accept is the accepting side: recv_name, send_status, send_challenge, recv_challenge_reply,
// send_challenge_ack. The peer is claimed from its send_name on, and the status answers a simultaneous connect
// as pending.go says; a finished handshake keeps its claim until the transport serves it (OnServed). The
// caller bounds its time.
func (h *Handshake) accept(f *hsFramer, cookie string) (ergonode.HandshakeDetails, error) {
	var d ergonode.HandshakeDetails
	msg, err := f.read()
	if err != nil {
		return d, err
	}
	flags, creation, peer, err := parseName(msg)
	if err != nil {
		return d, err
	}
	if flags&flagNameMe != 0 {
		return d, fmt.Errorf("node: handshake with %s: %w: dynamic node names are not supported", peer, errMalformed)
	}
	if peer == h.name {
		return d, fmt.Errorf("node: handshake: %w: the peer calls itself %s, this node's name", errMalformed, peer)
	}
	status, a := h.claims.accept(h.name, peer)
	switch status {
	case "":
		return d, fmt.Errorf("node: connection from %s: %w", peer, errBusy)
	case "nok":
		_ = f.write([]byte("snok"))
		return d, fmt.Errorf("node: connection from %s: %w", peer, errLostRace)
	}
	if d, err = h.challenge(f, cookie, status, peer, creation, flags, a); err != nil {
		a.release()
		return d, err
	}
	a.finished()
	return d, nil
}

// challenge is the accepting side after recv_name: send_status with status (and, for alive, the peer's
// answer), send_challenge, recv_challenge_reply, send_challenge_ack.
func (h *Handshake) challenge(f *hsFramer, cookie, status, peer string, creation uint32, flags uint64, a *attempt) (ergonode.HandshakeDetails, error) {
	var d ergonode.HandshakeDetails
	if err := f.write([]byte("s" + status)); err != nil {
		return d, err
	}
	if status == "alive" {
		msg, err := f.read()
		if err != nil {
			return d, err
		}
		switch string(msg) {
		case "strue":
		case "sfalse":
			return d, fmt.Errorf("node: connection from %s: %w", peer, errLostRace)
		default:
			return d, fmt.Errorf("node: handshake with %s: %w: want strue or sfalse after alive, got %q",
				peer, errMalformed, truncate(string(msg), 32))
		}
	}
	mine := newChallenge()
	if err := f.write(h.challengeMsg(mine)); err != nil {
		return d, err
	}
	msg, err := f.read()
	if err != nil {
		return d, err
	}
	if len(msg) != replyMsgLen || msg[0] != hsReply {
		return d, fmt.Errorf("node: handshake with %s: %w: want a %d-byte challenge reply, got tag %d in %d bytes",
			peer, errMalformed, replyMsgLen, msg[0], len(msg))
	}
	if !sameDigest(msg[5:], digest(mine, cookie)) {
		return d, fmt.Errorf("node: rejected connection from %s: %w", peer, errCookieMismatch)
	}
	if err := f.write(ackMsg(digest(binary.BigEndian.Uint32(msg[1:5]), cookie))); err != nil {
		return d, err
	}
	return peerDetails(peer, creation, flags, a), nil
}

// peerInfo is what the handshake learned of a peer beyond ergo's HandshakeDetails; it reaches the transport as
// their Custom field (peerOf, Hidden, ServedConn).
type peerInfo struct {
	// flags are the distribution flags the peer sent.
	flags uint64
	// sock is the peer's socket when the acceptor handshaked it and handed it off; nil when ergo dialed.
	sock net.Conn
	// claim is the handshake's claim on the peer, released once the transport serves the connection; nil when
	// the peer was not known beforehand.
	claim *attempt
}

// peerDetails are the details of a finished handshake with peer, which claim claims.
func peerDetails(peer string, creation uint32, flags uint64, claim *attempt) ergonode.HandshakeDetails {
	return ergonode.HandshakeDetails{Name: peer, Creation: creation, Version: 6, Custom: &peerInfo{flags: flags, claim: claim}}
}

// peerOf returns what the handshake learned of the peer of d; the zero peerInfo when d did not come from it.
func peerOf(d ergonode.HandshakeDetails) peerInfo {
	if p, ok := d.Custom.(*peerInfo); ok {
		return *p
	}
	return peerInfo{}
}

// OnServed returns what the transport calls once it serves the connection of d: the end of its handshake's
// claim on the peer (pending.go), after which a new handshake with the peer may start.
func OnServed(d ergonode.HandshakeDetails) func() {
	return peerOf(d).claim.release
}

// Hidden tells whether the peer of a finished handshake is a hidden node (erl -hidden, a C node): it left
// DFLAG_PUBLISHED out of its handshake.
func Hidden(d ergonode.HandshakeDetails) bool { return peerOf(d).flags&flagPublished == 0 }

// nameMsg is this node's send_name.
func (h *Handshake) nameMsg() []byte {
	b := make([]byte, nameMsgLen, nameMsgLen+len(h.name))
	b[0] = hsName
	binary.BigEndian.PutUint64(b[1:], h.flags())
	binary.BigEndian.PutUint32(b[9:], h.creation)
	binary.BigEndian.PutUint16(b[13:], uint16(len(h.name)))
	return append(b, h.name...)
}

// challengeMsg is this node's send_challenge with challenge.
func (h *Handshake) challengeMsg(challenge uint32) []byte {
	b := make([]byte, chalMsgLen, chalMsgLen+len(h.name))
	b[0] = hsName
	binary.BigEndian.PutUint64(b[1:], h.flags())
	binary.BigEndian.PutUint32(b[9:], challenge)
	binary.BigEndian.PutUint32(b[13:], h.creation)
	binary.BigEndian.PutUint16(b[17:], uint16(len(h.name)))
	return append(b, h.name...)
}

// replyMsg is send_challenge_reply.
func replyMsg(challenge uint32, sum []byte) []byte {
	b := make([]byte, 5, replyMsgLen)
	b[0] = hsReply
	binary.BigEndian.PutUint32(b[1:], challenge)
	return append(b, sum...)
}

// ackMsg is send_challenge_ack.
func ackMsg(sum []byte) []byte {
	return append([]byte{hsAck}, sum...)
}

// parseName reads a peer's send_name. The name must fit in the message as declared, and be name@host.
func parseName(msg []byte) (flags uint64, creation uint32, name string, err error) {
	if msg[0] == hsOldName {
		return 0, 0, "", fmt.Errorf("node: handshake: %w: a version 5 name message, from a node older than OTP 23", errMalformed)
	}
	if msg[0] != hsName || len(msg) < nameMsgLen {
		return 0, 0, "", fmt.Errorf("node: handshake: %w: want a name message of at least %d bytes, got tag %d in %d bytes",
			errMalformed, nameMsgLen, msg[0], len(msg))
	}
	flags = binary.BigEndian.Uint64(msg[1:])
	creation = binary.BigEndian.Uint32(msg[9:])
	name, err = nodeName(msg[nameMsgLen:], int(binary.BigEndian.Uint16(msg[13:])))
	return flags, creation, name, err
}

// parseChallenge reads a peer's send_challenge.
func parseChallenge(msg []byte) (flags uint64, challenge, creation uint32, name string, err error) {
	if msg[0] != hsName || len(msg) < chalMsgLen {
		return 0, 0, 0, "", fmt.Errorf("node: handshake: %w: want a challenge of at least %d bytes, got tag %d in %d bytes",
			errMalformed, chalMsgLen, msg[0], len(msg))
	}
	flags = binary.BigEndian.Uint64(msg[1:])
	challenge = binary.BigEndian.Uint32(msg[9:])
	creation = binary.BigEndian.Uint32(msg[13:])
	name, err = nodeName(msg[chalMsgLen:], int(binary.BigEndian.Uint16(msg[17:])))
	return flags, challenge, creation, name, err
}

// nodeName takes a node name of the declared length n from rest, the bytes the message has left.
func nodeName(rest []byte, n int) (string, error) {
	if n > len(rest) {
		return "", fmt.Errorf("node: handshake: %w: the name's declared length %d exceeds the %d bytes left in the message",
			errMalformed, n, len(rest))
	}
	name := string(rest[:n])
	if a, b, ok := strings.Cut(name, "@"); !ok || a == "" || b == "" || strings.Contains(b, "@") {
		return "", fmt.Errorf("node: handshake: %w: node name %q is not name@host", errMalformed, name)
	}
	return name, nil
}

// isCookieError tells whether err says that the two nodes' cookies differ.
func isCookieError(err error) bool {
	return errors.Is(err, errCookieMismatch) || errors.Is(err, errBadAck) || errors.Is(err, errClosedAfterReply)
}

// digest is the MD5 of the cookie followed by the challenge in decimal, as dist_util:gen_digest/2 makes it.
func digest(challenge uint32, cookie string) []byte {
	sum := md5.Sum([]byte(cookie + strconv.FormatUint(uint64(challenge), 10)))
	return sum[:]
}

// sameDigest compares digests in constant time.
func sameDigest(a, b []byte) bool {
	return subtle.ConstantTimeCompare(a, b) == 1
}

// newChallenge returns a random challenge, fresh for each handshake.
func newChallenge() uint32 {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return binary.BigEndian.Uint32(b[:])
}

// truncate cuts s to at most n bytes, for logs that quote a peer.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// withDeadline runs f with conn's deadline set Timeout ahead, and clears the deadline after.
func withDeadline(conn lib.NetReadWriter, f func() (ergonode.HandshakeDetails, error)) (ergonode.HandshakeDetails, error) {
	dc, ok := conn.(interface{ SetDeadline(time.Time) error })
	if !ok {
		return f()
	}
	if err := dc.SetDeadline(time.Now().Add(Timeout)); err != nil {
		return ergonode.HandshakeDetails{}, err
	}
	d, err := f()
	if err == nil {
		err = dc.SetDeadline(time.Time{})
	}
	return d, err
}

// hsFramer reads and writes handshake messages on one connection. A read takes exactly one message, so that
// what the peer sends after the handshake stays in the connection.
type hsFramer struct {
	rw   io.ReadWriter
	hlen int // 2, or 4 over TLS
	buf  [4 + maxHandshakeMsg]byte
}

func newHSFramer(rw io.ReadWriter, tls bool) *hsFramer {
	f := &hsFramer{rw: rw, hlen: 2}
	if tls {
		f.hlen = 4
	}
	return f
}

// read returns the next message, which is valid until the next read. A message that is empty or longer than
// maxHandshakeMsg fails without reading its body.
func (f *hsFramer) read() ([]byte, error) {
	if _, err := io.ReadFull(f.rw, f.buf[:f.hlen]); err != nil {
		return nil, err
	}
	var n uint64
	if f.hlen == 2 {
		n = uint64(binary.BigEndian.Uint16(f.buf[:2]))
	} else {
		n = uint64(binary.BigEndian.Uint32(f.buf[:4]))
	}
	if n == 0 || n > maxHandshakeMsg {
		return nil, fmt.Errorf("node: handshake: %w: a %d-byte message (at most %d)", errMalformed, n, maxHandshakeMsg)
	}
	msg := f.buf[f.hlen : f.hlen+int(n)]
	if _, err := io.ReadFull(f.rw, msg); err != nil {
		return nil, err
	}
	return msg, nil
}

// write sends msg with its length in one write.
func (f *hsFramer) write(msg []byte) error {
	b := make([]byte, f.hlen, f.hlen+len(msg))
	if f.hlen == 2 {
		binary.BigEndian.PutUint16(b, uint16(len(msg)))
	} else {
		binary.BigEndian.PutUint32(b, uint32(len(msg)))
	}
	_, err := f.rw.Write(append(b, msg...))
	return err
}

// FlagNameMe is the send_name flag that asks for a dynamic node name, which this node refuses.
const FlagNameMe = flagNameMe

// FrameName frames a send_name message as a peer sends it, length prefix first, whose name field declares nlen
// bytes and holds name (nlen may lie, as a hostile peer's does): for tests and tools that probe an acceptor.
func FrameName(flags uint64, nlen int, name string) []byte {
	b := make([]byte, 2+nameMsgLen)
	binary.BigEndian.PutUint16(b, uint16(nameMsgLen+len(name)))
	b[2] = hsName
	binary.BigEndian.PutUint64(b[3:], flags|flagHandshake23)
	binary.BigEndian.PutUint16(b[15:], uint16(nlen))
	return append(b, name...)
}
