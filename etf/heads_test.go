package etf

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestHeadsEncodeAsTheTerms(t *testing.T) {
	b := AppendTupleHead(AppendVersion(nil), 3)
	b, _ = AppendTerm(b, Atom("call"))
	b = AppendListHead(b, 2)
	b, _ = AppendTerm(b, int64(1))
	b, _ = AppendTerm(b, []byte("x"))
	b = AppendNil(b)
	b = AppendMapHead(b, 1)
	b, _ = AppendTerm(b, []byte("k"))
	b, _ = AppendTerm(b, int64(2))
	want, err := Encode(Tuple{Atom("call"), List{int64(1), []byte("x")}, Map{{Key: []byte("k"), Value: int64(2)}}})
	require.NoError(t, err)
	require.Equal(t, want, b)

	big := make(Tuple, 300)
	for i := range big {
		big[i] = int64(i)
	}
	want, err = Encode(big)
	require.NoError(t, err)
	b = AppendTupleHead(AppendVersion(nil), len(big))
	for _, e := range big {
		b, _ = AppendTerm(b, e)
	}
	require.Equal(t, want, b)
}
