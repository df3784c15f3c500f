package etf

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The corpus in testdata/erl was written by OTP 25's term_to_binary; see
// testdata/gen_corpus.escript for how each encoding was made.
const corpusDir = "testdata/erl"

// canonicalEncodings are the corpus encodings that Encode reproduces byte for
// byte. The others are decoded and re-encoded to an equal term in other bytes:
//   - otp25 and minor0 write Latin-1 atoms as ATOM_EXT, which Encode writes as
//     SMALL_ATOM_UTF8_EXT (OTP 26's default); minor0 also writes floats as
//     FLOAT_EXT text, which Encode writes as NEW_FLOAT_EXT;
//   - compressed and compressed9 are zlib streams from the runtime's zlib,
//     which Encode does not compress by default (and Go's zlib would not match);
//   - handmade terms use old or longer-than-needed forms (PID_EXT, PORT_EXT,
//     REFERENCE_EXT, NEW_REFERENCE_EXT, V4_PORT_EXT, SMALL_ATOM_EXT, a SMALL_BIG_EXT 5, an
//     INTEGER_EXT 7, a LIST_EXT of bytes) that Encode writes in today's form.
var canonicalEncodings = map[string]bool{"utf8": true, "deterministic": true}

// refused are corpus terms that Decode refuses, and why.
var refused = map[string]string{
	"v4_port_ext_64bit": "Port.ID (ergo's type) has 32 bits",
}

// corpusEntry is one term of the corpus.
type corpusEntry struct {
	Name     string
	Encoding string
	Data     []byte
	Desc     string
}

func loadCorpus(tb testing.TB) []corpusEntry {
	tb.Helper()
	index, err := os.ReadFile(filepath.Join(corpusDir, "index.tsv"))
	if err != nil {
		tb.Fatal(err)
	}
	var out []corpusEntry
	for _, line := range strings.Split(strings.TrimSpace(string(index)), "\n") {
		f := strings.SplitN(line, "\t", 4)
		if len(f) != 4 {
			tb.Fatalf("index.tsv: bad line %q", line)
		}
		data, err := os.ReadFile(filepath.Join(corpusDir, f[0]+".bin"))
		if err != nil {
			tb.Fatal(err)
		}
		if fmt.Sprint(len(data)) != f[2] {
			tb.Fatalf("%s: %d bytes; index.tsv says %s", f[0], len(data), f[2])
		}
		out = append(out, corpusEntry{Name: f[0], Encoding: f[1], Data: data, Desc: f[3]})
	}
	return out
}

func TestCorpusRoundTrip(t *testing.T) {
	identical := 0
	corpus := loadCorpus(t)
	for _, e := range corpus {
		t.Run(e.Name, func(t *testing.T) {
			term, err := Decode(e.Data)
			if why, ok := refused[e.Name]; ok {
				if err == nil {
					t.Fatalf("Decode accepted it; want a *DecodeError (%s)", why)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode (%s): %v", e.Desc, err)
			}
			ours, err := Encode(term)
			if err != nil {
				t.Fatalf("Encode (%s): %v", e.Desc, err)
			}
			if bytes.Equal(ours, e.Data) {
				identical++
				return
			}
			if canonicalEncodings[e.Encoding] {
				at := 0
				for at < len(ours) && at < len(e.Data) && ours[at] == e.Data[at] {
					at++
				}
				t.Fatalf("%s (%s): re-encoding differs at byte %d of %d (ours %d bytes)",
					e.Encoding, e.Desc, at, len(e.Data), len(ours))
			}
			again, err := Decode(ours)
			if err != nil {
				t.Fatalf("Decode of our re-encoding: %v", err)
			}
			if !Equal(again, term) {
				t.Errorf("our re-encoding decodes to %v; want %v", again, term)
			}
		})
	}
	t.Logf("%d of %d corpus terms re-encode byte for byte", identical, len(corpus))
}

// goBuilt are Go values whose Marshal a real Erlang must read as the term
// written in Erlang syntax next to them.
var goBuilt = []struct {
	name string
	v    any
	erl  string
}{
	{"struct", config{Name: "svc", Port: 8080, Tags: []string{"a", "b"}, Env: map[string]string{"K": "V"}},
		`#{<<"Name">> => <<"svc">>, <<"port">> => 8080, <<"-">> => 0, <<"Ptr">> => undefined, <<"Tags">> => [<<"a">>, <<"b">>], <<"Env">> => #{<<"K">> => <<"V">>}}`},
	{"struct_nested", []inner{{Host: "h", Port: 1}, {Host: "é", Port: 65536}},
		`[#{<<"Host">> => <<"h">>, <<"port">> => 1}, #{<<"Host">> => <<"é"/utf8>>, <<"port">> => 65536}]`},
	{"embedded", withEmbedded{Base: Base{ID: -1, Kind: "b"}, Kind: "k"}, `#{<<"ID">> => -1, <<"Kind">> => <<"k">>}`},
	{"go_map", map[string]int{"b": 2, "a": 1}, `#{<<"a">> => 1, <<"b">> => 2}`},
	{"go_map_int_keys", map[int]string{3: "c", -1: "m"}, `#{3 => <<"c">>, -1 => <<"m">>}`},
	{"scalars", []any{nil, true, false, 1.5, math.Copysign(0, -1), uint64(math.MaxUint64), int64(math.MinInt64), "x", []byte{1, 2}, Atom("a"), int8(-128)},
		`[undefined, true, false, 1.5, -0.0, 18446744073709551615, -9223372036854775808, <<"x">>, <<1,2>>, a, -128]`},
	{"hooks_call", Tuple{Atom("execute"), "app", "act", []int{1, 2}, map[string]any{"k": "v", "n": nil}},
		`{execute, <<"app">>, <<"act">>, [1, 2], #{<<"k">> => <<"v">>, <<"n">> => undefined}}`},
	{"big", []*big.Int{new(big.Int).Lsh(big.NewInt(1), 3000), new(big.Int).Neg(new(big.Int).Lsh(big.NewInt(1), 64))},
		`[1 bsl 3000, -(1 bsl 64)]`},
	{"charlist", Charlist("héllo"), `"héllo"`},
	{"improper", ImproperList{Elems: []Term{1, 2}, Tail: Atom("t")}, `[1, 2 | t]`},
	{"bitstring", BitString{Bytes: []byte{0xff, 0x80}, Bits: 1}, `<<255, 1:1>>`},
	{"export", Export{Module: "lists", Function: "map", Arity: 2}, `fun lists:map/2`},
	{"int_and_float_keys", Map{{int64(1), "int"}, {1.0, "float"}}, `#{1 => <<"int">>, 1.0 => <<"float">>}`},
	{"unicode_atom", Atom(strings.Repeat("日", 255)), `list_to_atom(lists:duplicate(255, 16#65E5))`},
	{"marshaler", []celsius{21.5}, `[{celsius, 21.5}]`},
	{"array_and_pointer", struct {
		A [2]uint16
		P *int
		Q *string
	}{A: [2]uint16{1, 65535}, Q: new(string)}, `#{<<"A">> => [1, 65535], <<"P">> => undefined, <<"Q">> => <<>>}`},
}

// TestCorpusWithErlang hands our re-encoding of every corpus term, and the
// Marshal of goBuilt, to a real Erlang in one batch.
func TestCorpusWithErlang(t *testing.T) {
	erl, err := exec.LookPath("escript")
	if err != nil {
		t.Skip("SKIPPED: escript (Erlang) is not on PATH, so nothing is checked against a real Erlang")
	}
	dir := t.TempDir()
	var manifest strings.Builder
	corpus := loadCorpus(t)
	checked := 0
	for _, e := range corpus {
		if refused[e.Name] != "" {
			continue
		}
		checked++
		term, err := Decode(e.Data)
		if err != nil {
			t.Fatalf("%s: Decode: %v", e.Name, err)
		}
		ours, err := Encode(term)
		if err != nil {
			t.Fatalf("%s: Encode: %v", e.Name, err)
		}
		orig, _ := filepath.Abs(filepath.Join(corpusDir, e.Name+".bin"))
		path := filepath.Join(dir, e.Name+".bin")
		if err := os.WriteFile(path, ours, 0o644); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&manifest, "file\t%s\t%s\t%s\n", e.Name, orig, path)
	}
	for _, g := range goBuilt {
		b, err := Marshal(g.v)
		if err != nil {
			t.Fatalf("%s: Marshal: %v", g.name, err)
		}
		path := filepath.Join(dir, "go_"+g.name+".bin")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&manifest, "expr\tgo_%s\t%s\t%s\n", g.name, path, g.erl)
	}
	mpath := filepath.Join(dir, "manifest.tsv")
	if err := os.WriteFile(mpath, []byte(manifest.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(erl, "testdata/check_corpus.escript", mpath).CombinedOutput()
	if err != nil {
		t.Fatalf("check_corpus.escript: %v\n%s", err, out)
	}
	counts := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.SplitN(sc.Text(), "\t", 4)
		if len(f) != 4 || f[0] != "result" {
			t.Errorf("unexpected erl output: %q", sc.Text())
			continue
		}
		counts[f[2]]++
		switch f[2] {
		case "identical", "canonical":
		case "equal":
			t.Logf("%s: =:= in Erlang, other bytes: %s", f[1], f[3])
		default:
			t.Errorf("%s: %s: %s", f[1], f[2], f[3])
		}
	}
	total := checked + len(goBuilt)
	if n := counts["identical"] + counts["canonical"] + counts["equal"] + counts["mismatch"] + counts["error"]; n != total {
		t.Errorf("erl reported %d results; want %d\n%s", n, total, out)
	}
	t.Logf("erl: %d terms (%d corpus, %d Go-built): %d byte-identical, %d the bytes of erl's own "+
		"[{minor_version,2}] re-encoding, %d =:= in other bytes, %d mismatched, %d errors",
		total, checked, len(goBuilt), counts["identical"], counts["canonical"], counts["equal"],
		counts["mismatch"], counts["error"])
}
