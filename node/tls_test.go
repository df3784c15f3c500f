package node

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hornbeam-go/hornbeam/internal/hookstest"
	"github.com/stretchr/testify/require"
)

// selfSigned writes a self-signed certificate for localhost and its key as PEM files in dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600))
	return certFile, keyFile
}

func TestTLS(t *testing.T) {
	requireErl(t)
	dir := t.TempDir()
	certFile, keyFile := selfSigned(t, dir)
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	require.NoError(t, err)
	e := hookstest.Engine(t)
	n, err := Start(context.Background(), Options{Name: uniqueName("go"), Cookie: testCookie, Engine: e,
		TLS: &tls.Config{Certificates: []tls.Certificate{cert}}, Logger: testLogger(t)})
	require.NoError(t, err)
	t.Cleanup(n.Stop)
	conf := filepath.Join(dir, "ssl_dist.conf")
	require.NoError(t, os.WriteFile(conf, []byte(fmt.Sprintf(`[{server, [{certfile, %q}, {keyfile, %q}, {verify, verify_none}]},
		{client, [{verify, verify_none}]}].`, certFile, keyFile)), 0o600))
	cmd := exec.Command("erl", "-sname", uniqueName("e"), "-setcookie", testCookie, "-noshell", "-noinput",
		"-proto_dist", "inet_tls", "-ssl_dist_optfile", conf, "-eval", fmt.Sprintf(`Go = '%s',
		P = net_adm:ping(Go),
		R = gen_server:call({hornbeam_hooks, Go}, {execute, <<"echo">>, <<"echo">>, [binary:copy(<<1>>, 100000)], #{}}, 5000),
		io:format("~p~n", [{P, R =:= {ok, binary:copy(<<1>>, 100000)}}]), halt().`, n.Name()))
	cmd.Env = append(os.Environ(), "ERL_CRASH_DUMP_SECONDS=0")
	done := make(chan []byte, 1)
	go func() {
		out, _ := cmd.CombinedOutput()
		done <- out
	}()
	select {
	case out := <-done:
		require.Equal(t, "{pong,true}", strings.TrimSpace(string(out)))
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("erl did not halt: %s", <-done)
	}
}
