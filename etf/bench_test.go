package etf

import (
	"flag"
	"fmt"
	"math/big"
	"os"
	"sort"
	"strings"
	"testing"

	ergoetf "github.com/ergo-services/ergo/etf"
	"github.com/ergo-services/ergo/lib"
)

// The benchmarks run our codec and ergo's over the corpus of testdata/erl,
// in groups, and over a "mixed" corpus of realistic messages built here.
//
//	go test ./etf -run '^$' -bench 'Decode|Encode' -benchmem
//	ETF_RATIOS=1 go test ./etf -run TestCodecRatios -v   # the table of docs/benchmarks.md
//
// Ergo cannot represent every term (maps with binary, list, map or tuple
// keys, improper lists, bitstrings, funs, exports, compressed terms, integers
// between -2^64 and -2^63, ...). A term takes part in the comparison only if
// ergo decodes it and its re-encoding decodes, with our codec, to a term
// Equal to the original; "ours-all" runs our codec over the whole group.

// ergoDecodeOptions and ergoEncodeOptions are those of an OTP 25 peer.
var (
	ergoDecodeOptions = ergoetf.DecodeOptions{FlagBigPidRef: true}
	ergoEncodeOptions = ergoetf.EncodeOptions{FlagBigPidRef: true, FlagBigCreation: true}
)

// benchTerm is one encoded term, decoded once by each codec for the encode
// benchmarks.
type benchTerm struct {
	name string
	data []byte // with the version byte
	ours Term
	ergo ergoetf.Term // nil when ergo cannot represent it
}

// benchGroup is a named set of terms.
type benchGroup struct {
	name  string
	all   []benchTerm
	ergo  []benchTerm // the terms ergo handles
	bytes int         // encoded size of all
}

// corpusGroup names the benchmark group of a corpus file.
func corpusGroup(name, encoding string) string {
	switch {
	case encoding != "utf8":
		return "encodings"
	case strings.HasSuffix(name, "_100k") || strings.HasPrefix(name, "list_string_6553") || name == "binary_1mb":
		return "large"
	case strings.HasPrefix(name, "int_"), strings.HasPrefix(name, "float_"), strings.HasPrefix(name, "atom_"):
		return "scalars"
	case strings.HasPrefix(name, "binary_"), strings.HasPrefix(name, "bits_"):
		return "binaries"
	case strings.HasPrefix(name, "pid_"), strings.HasPrefix(name, "ref_"), name == "port", name == "rpc_call":
		return "identifiers"
	case strings.HasPrefix(name, "fun_"), strings.HasPrefix(name, "export_"):
		return "funs"
	case strings.HasPrefix(name, "nested_"):
		return "nested"
	}
	return "containers"
}

// mixedTerms are realistic messages: hooks calls, a gen_server call with
// pids and references, a list of records as maps, and a 1 MiB binary. The
// *_atom_keys variants have the same shape with atom keys, which ergo can
// decode.
func mixedTerms() map[string]Term {
	node := Atom("hornbeam@localhost")
	pid := Pid{Node: node, ID: 83, Creation: 1700000000}
	ref := Ref{Node: node, Creation: 1700000000, ID: [5]uint32{9, 77, 123456}}
	args := List{int64(1), []byte("two"), 3.5, List{Atom("a"), Atom("b")}}
	call := func(key func(string) Term) Term {
		return Tuple{Atom("execute"), []byte("app"), []byte("act"), args,
			Map{{key("timeout"), int64(5000)}, {key("trace"), []byte("abc-123")}}}
	}
	records := func(key func(string) Term) Term {
		out := make(List, 100)
		for i := range out {
			out[i] = Map{
				{key("id"), int64(i)}, {key("name"), []byte(fmt.Sprintf("user-%d", i))},
				{key("tags"), List{[]byte("a"), []byte("b")}}, {key("score"), float64(i) / 3},
			}
		}
		return out
	}
	bin := func(k string) Term { return []byte(k) }
	atom := func(k string) Term { return Atom(k) }
	return map[string]Term{
		"hooks_call":           call(bin),
		"hooks_call_atom_keys": call(atom),
		"gen_call": Tuple{Atom("$gen_call"), Tuple{pid, Alias(ref)},
			Tuple{Atom("call"), Atom("lists"), Atom("seq"), List{int64(1), int64(3)}, pid}},
		"records":           records(bin),
		"records_atom_keys": records(atom),
		"binary_1mb":        []byte(strings.Repeat("0123456789abcdef", 65536)),
	}
}

// ergoHandles decodes data with ergo and reports whether ergo's term is
// faithful: its re-encoding decodes, with our codec, to a term Equal to want.
func ergoHandles(data []byte, want Term) (ergoetf.Term, bool) {
	t, rest, err := ergoetf.Decode(data[1:], nil, ergoDecodeOptions)
	if err != nil || len(rest) != 0 {
		return nil, false
	}
	buf := lib.TakeBuffer()
	defer lib.ReleaseBuffer(buf)
	if err := ergoetf.Encode(t, buf, ergoEncodeOptions); err != nil {
		return nil, false
	}
	back, err := Decode(append([]byte{versionByte}, buf.B...))
	if err != nil || !Equal(back, want) {
		return nil, false
	}
	return t, true
}

func loadBenchGroups(tb testing.TB) []benchGroup {
	tb.Helper()
	// ergo logs each map key it drops; the comparison finds them anyway.
	if err := flag.Set("ergo.warning", "false"); err != nil {
		tb.Fatal(err)
	}
	byName := map[string]*benchGroup{}
	add := func(group, name string, data []byte) {
		g := byName[group]
		if g == nil {
			g = &benchGroup{name: group}
			byName[group] = g
		}
		t, err := Decode(data)
		if err != nil {
			tb.Fatalf("%s: %v", name, err)
		}
		bt := benchTerm{name: name, data: data, ours: t}
		if et, ok := ergoHandles(data, t); ok {
			bt.ergo = et
			g.ergo = append(g.ergo, bt)
		}
		g.all = append(g.all, bt)
		g.bytes += len(data)
	}
	for _, e := range loadCorpus(tb) {
		if refused[e.Name] == "" {
			add(corpusGroup(e.Name, e.Encoding), e.Name, e.Data)
		}
	}
	mixed := mixedTerms()
	names := make([]string, 0, len(mixed))
	for n := range mixed {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		data, err := Encode(mixed[n])
		if err != nil {
			tb.Fatalf("mixed %s: %v", n, err)
		}
		add("mixed", n, data)
		if n == "binary_1mb" {
			add("mixed-1mb-binary", n, data)
		} else {
			add("mixed-no-1mb", n, data)
		}
	}
	order := []string{"scalars", "binaries", "containers", "identifiers", "funs", "nested", "large", "encodings",
		"mixed", "mixed-no-1mb", "mixed-1mb-binary"}
	out := make([]benchGroup, 0, len(order))
	for _, n := range order {
		if g := byName[n]; g != nil {
			out = append(out, *g)
		}
	}
	return out
}

func decodeOurs(b *testing.B, terms []benchTerm) {
	for range b.N {
		for i := range terms {
			if _, err := Decode(terms[i].data); err != nil {
				b.Fatal(terms[i].name, err)
			}
		}
	}
}

// decodeOursAlias decodes with AliasBinaries: binaries share the input
// instead of being copied, which ergo cannot do.
func decodeOursAlias(b *testing.B, terms []benchTerm) {
	opts := DecodeOptions{AliasBinaries: true}
	for range b.N {
		for i := range terms {
			if _, err := opts.Decode(terms[i].data); err != nil {
				b.Fatal(terms[i].name, err)
			}
		}
	}
}

func decodeErgo(b *testing.B, terms []benchTerm) {
	for range b.N {
		for i := range terms {
			if _, _, err := ergoetf.Decode(terms[i].data[1:], nil, ergoDecodeOptions); err != nil {
				b.Fatal(terms[i].name, err)
			}
		}
	}
}

// encodeOurs and encodeErgo both reuse one output buffer, as a connection's
// writer would.
func encodeOurs(b *testing.B, terms []benchTerm) {
	var buf []byte
	for range b.N {
		for i := range terms {
			var err error
			if buf, err = AppendEncode(buf[:0], terms[i].ours); err != nil {
				b.Fatal(terms[i].name, err)
			}
		}
	}
}

func encodeErgo(b *testing.B, terms []benchTerm) {
	buf := lib.TakeBuffer()
	defer lib.ReleaseBuffer(buf)
	for range b.N {
		for i := range terms {
			buf.B = buf.B[:0]
			if err := ergoetf.Encode(terms[i].ergo, buf, ergoEncodeOptions); err != nil {
				b.Fatal(terms[i].name, err)
			}
		}
	}
}

// runCodecs runs ours and ergo over each group; alias, when not nil, is
// ours with AliasBinaries, run over the mixed groups.
func runCodecs(b *testing.B, ours, alias, ergo func(*testing.B, []benchTerm)) {
	for _, g := range loadBenchGroups(b) {
		if len(g.ergo) > 0 {
			b.Run(g.name+"/ours", func(b *testing.B) { b.ReportAllocs(); ours(b, g.ergo) })
			if alias != nil && strings.HasPrefix(g.name, "mixed") {
				b.Run(g.name+"/ours-alias", func(b *testing.B) { b.ReportAllocs(); alias(b, g.ergo) })
			}
			b.Run(g.name+"/ergo", func(b *testing.B) { b.ReportAllocs(); ergo(b, g.ergo) })
		}
		if len(g.ergo) < len(g.all) {
			b.Run(g.name+"/ours-all", func(b *testing.B) { b.ReportAllocs(); ours(b, g.all) })
		}
	}
}

// BenchmarkDecode decodes each group's terms once per op.
// In the mixed groups, ours-alias decodes with AliasBinaries.
func BenchmarkDecode(b *testing.B) { runCodecs(b, decodeOurs, decodeOursAlias, decodeErgo) }

// BenchmarkEncode encodes each group's terms once per op.
func BenchmarkEncode(b *testing.B) { runCodecs(b, encodeOurs, nil, encodeErgo) }

// ratioRounds is how many times TestCodecRatios measures each codec,
// alternating, keeping the fastest: the machine is shared, and the other
// rounds measure its load.
const ratioRounds = 3

// bestOf runs ours and ergo over terms ratioRounds times, alternating, and
// returns the fastest run of each.
func bestOf(ours, ergo func(*testing.B, []benchTerm), terms []benchTerm) (o, e testing.BenchmarkResult) {
	measure := func(run func(*testing.B, []benchTerm), best *testing.BenchmarkResult, first bool) {
		r := testing.Benchmark(func(b *testing.B) { b.ReportAllocs(); run(b, terms) })
		if first || r.NsPerOp() < best.NsPerOp() {
			*best = r
		}
	}
	for i := range ratioRounds {
		measure(ours, &o, i == 0)
		measure(ergo, &e, i == 0)
	}
	return o, e
}

// codecOp is one row kind of TestCodecRatios: our codec and ergo's doing the same job.
type codecOp struct {
	name       string
	ours, ergo func(*testing.B, []benchTerm)
}

// TestCodecRatios prints, per group, both codecs' ns/op, B/op and allocs/op
// and the ratio ours/ergo of the times (below 1 means ours is faster), each
// the best of ratioRounds runs. It runs only with ETF_RATIOS=1, as it takes
// about four minutes.
func TestCodecRatios(t *testing.T) {
	if os.Getenv("ETF_RATIOS") == "" {
		t.Skip("set ETF_RATIOS=1 to measure ours against ergo")
	}
	var sb strings.Builder
	sb.WriteString("| group | terms (ergo/all) | op | ours ns/op | ergo ns/op | ours/ergo | speed-up | ours B/op | ergo B/op | ours allocs | ergo allocs |\n")
	sb.WriteString("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, g := range loadBenchGroups(t) {
		if len(g.ergo) == 0 {
			fmt.Fprintf(&sb, "| %s | 0/%d | - | | | | | | | | |\n", g.name, len(g.all))
			continue
		}
		ops := []codecOp{{"decode", decodeOurs, decodeErgo}, {"encode", encodeOurs, encodeErgo}}
		if strings.HasPrefix(g.name, "mixed") {
			ops = append(ops, codecOp{"decode, ours with AliasBinaries (no copy)", decodeOursAlias, decodeErgo})
		}
		for _, op := range ops {
			o, e := bestOf(op.ours, op.ergo, g.ergo)
			ratio := float64(o.NsPerOp()) / float64(e.NsPerOp())
			fmt.Fprintf(&sb, "| %s | %d/%d | %s | %d | %d | %.2f | %.1f× | %d | %d | %d | %d |\n",
				g.name, len(g.ergo), len(g.all), op.name, o.NsPerOp(), e.NsPerOp(), ratio, 1/ratio,
				o.AllocedBytesPerOp(), e.AllocedBytesPerOp(), o.AllocsPerOp(), e.AllocsPerOp())
		}
	}
	t.Log("\n" + sb.String())
	for _, g := range loadBenchGroups(t) {
		var left []string
		for _, bt := range g.all {
			if bt.ergo == nil {
				left = append(left, bt.name)
			}
		}
		if len(left) > 0 {
			t.Logf("%s: not comparable with ergo: %s", g.name, strings.Join(left, ", "))
		}
	}
}

// TestErgoSubset checks the comparison's premise on one term of each kind:
// ergo handles a plain tuple and not a map with binary keys.
func TestErgoSubset(t *testing.T) {
	ok := Tuple{Atom("ok"), int64(1), []byte("x")}
	bad := Map{{[]byte("k"), int64(1)}}
	huge := new(big.Int).Neg(new(big.Int).Lsh(big.NewInt(1), 64))
	huge.Add(huge, big.NewInt(1))
	for _, tt := range []struct {
		term Term
		want bool
	}{{ok, true}, {bad, false}, {huge, false}} {
		data, err := Encode(tt.term)
		if err != nil {
			t.Fatal(err)
		}
		if _, got := ergoHandles(data, tt.term); got != tt.want {
			t.Errorf("ergoHandles(%v) = %v; want %v", tt.term, got, tt.want)
		}
	}
}
