// Command hornbeam runs a distributed Erlang node that serves hooks: handlers
// registered under app paths, written in Go, Erlang or Python, callable from
// any of them. See the README and docs/protocol.md.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/hornbeam-go/hornbeam/hooks"
	"github.com/hornbeam-go/hornbeam/node"
	"github.com/hornbeam-go/hornbeam/port"
	"github.com/hornbeam-go/hornbeam/python"
)

// config is what the command line asks for.
type config struct {
	name, sname            string
	cookie                 string
	listenBegin, listenEnd uint
	tlsCert, tlsKey, tlsCA string
	logLevel               string
	noDemo                 bool
	pyModule, pyPath       string
	pyWorkers              int
	pySocket               string
	stdio                  bool
	coalesce               time.Duration
	hidden                 bool
	taskTTL                time.Duration
	pgScope                string
	noPG                   bool
	expose                 exposeList
}

// exposeList is the repeatable --expose APP_PATH[=NAME]: the named services to expose, in order.
type exposeList []exposed

// exposed is one --expose: appPath served as name.
type exposed struct{ appPath, name string }

// String lists the services as they were given.
func (l *exposeList) String() string {
	s := make([]string, len(*l))
	for i, e := range *l {
		s[i] = e.appPath + "=" + e.name
	}
	return strings.Join(s, ",")
}

// Set adds APP_PATH[=NAME]; NAME defaults to APP_PATH.
func (l *exposeList) Set(v string) error {
	appPath, name, ok := strings.Cut(v, "=")
	if !ok {
		name = appPath
	}
	if appPath == "" || name == "" {
		return fmt.Errorf("want APP_PATH or APP_PATH=NAME, got %q", v)
	}
	*l = append(*l, exposed{appPath, name})
	return nil
}

// defaultGCPercent is the collector's GOGC when the environment sets none. A link allocates a fresh buffer for
// each message above 256 KiB, whose binaries then share it, so at Go's default of 100 a node with a small heap
// collects after every few big messages; 400 cut the 1 MB echo's p50 by about a third (docs/benchmarks.md,
// "dist"), at the cost of a heap that may grow to five times what is live.
const defaultGCPercent = 400

// coalesceOption maps --coalesce to node.Options.Coalesce, where zero means the default and off is negative.
func coalesceOption(d time.Duration) time.Duration {
	if d <= 0 {
		return -1
	}
	return d
}

func main() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(defaultGCPercent)
	}
	if err := run(os.Args[1:], os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// parseFlags reads the command line into a config with its own flag set.
func parseFlags(args []string, out io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("hornbeam", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&c.name, "name", "", "long node name, name@host (host defaults to this machine's full name)")
	fs.StringVar(&c.sname, "sname", "", "short node name, name@host (host defaults to this machine's short name); default "+node.DefaultName)
	fs.StringVar(&c.cookie, "cookie", "", "distribution cookie (default: ~/.erlang.cookie, made as erl makes it when missing)")
	fs.UintVar(&c.listenBegin, "listen-begin", 0, "lowest port to listen on (default 15000)")
	fs.UintVar(&c.listenEnd, "listen-end", 0, "highest port to listen on (default 65000)")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "PEM certificate: distribution over TLS, for inet_tls_dist peers")
	fs.StringVar(&c.tlsKey, "tls-key", "", "PEM private key of --tls-cert")
	fs.StringVar(&c.tlsCA, "tls-ca", "", "PEM CA bundle to verify peers with (without it peers are not verified)")
	fs.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.DurationVar(&c.coalesce, "coalesce", node.DefaultCoalesce, "longest sleep of a busy link's reader gathering requests to answer in one batch; 0 turns it off")
	fs.BoolVar(&c.hidden, "hidden", false, "connect as a hidden node, as erl -hidden: peers list it in nodes(hidden), not nodes(), and global leaves it out")
	fs.DurationVar(&c.taskTTL, "task-ttl", hooks.DefaultResultTTL, "how long a finished async task's result waits for await_result; a result whose caller exits is dropped at once")
	fs.BoolVar(&c.noDemo, "no-demo", false, "do not register the demo hooks")
	fs.StringVar(&c.pgScope, "pg-scope", node.DefaultPGScope, "OTP pg scope in which every hook has a member pid in the group <<AppPath>>")
	fs.BoolVar(&c.noPG, "no-pg", false, "run no pg scope")
	fs.Var(&c.expose, "expose", "APP_PATH[=NAME]: serve the hook as the registered process NAME (default APP_PATH), for gen_server:call({NAME, Node}, {Action, Args...}); repeatable")
	fs.StringVar(&c.pyModule, "python", "", "module[:function] each Python worker imports (then calls function() once)")
	fs.IntVar(&c.pyWorkers, "python-workers", 1, "how many Python workers run --python")
	fs.StringVar(&c.pyPath, "python-path", ".", "directories, colon-separated, where workers find --python's module")
	fs.BoolVar(&c.stdio, "stdio", false, "port mode: serve {packet,4} frames on stdin and stdout for an Erlang port instead of running a node")
	fs.StringVar(&c.pySocket, "python-socket", "", "Unix socket where Python processes started elsewhere attach (their HORNBEAM_SOCKET); make demo uses $TMPDIR/hornbeam-UID.sock, where they look when HORNBEAM_SOCKET is unset")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("hornbeam: unexpected argument %q", fs.Arg(0))
	}
	if c.name != "" && c.sname != "" {
		return c, errors.New("hornbeam: give --name or --sname, not both")
	}
	if c.listenBegin > 65535 || c.listenEnd > 65535 || c.listenEnd != 0 && c.listenEnd < c.listenBegin {
		return c, fmt.Errorf("hornbeam: bad port range %d..%d", c.listenBegin, c.listenEnd)
	}
	if c.pyWorkers < 1 {
		return c, fmt.Errorf("hornbeam: --python-workers must be at least 1, got %d", c.pyWorkers)
	}
	if c.taskTTL <= 0 {
		return c, fmt.Errorf("hornbeam: --task-ttl must be positive, got %v", c.taskTTL)
	}
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return c, errors.New("hornbeam: --tls-cert and --tls-key go together")
	}
	return c, nil
}

// nodeName completes a --name or --sname value with this machine's host name.
func (c config) nodeName() (string, error) {
	n, long := c.sname, false
	if c.name != "" {
		n, long = c.name, true
	}
	if n == "" {
		return node.DefaultName, nil
	}
	if strings.Contains(n, "@") {
		return n, nil
	}
	host, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("hornbeam: host name for %s: %w", n, err)
	}
	if !long {
		host, _, _ = strings.Cut(host, ".")
	}
	return n + "@" + host, nil
}

// tlsConfig loads the certificate, key and CA the flags name; nil without them.
func (c config) tlsConfig() (*tls.Config, error) {
	if c.tlsCert == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(c.tlsCert, c.tlsKey)
	if err != nil {
		return nil, fmt.Errorf("hornbeam: loading TLS key pair: %w", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if c.tlsCA == "" {
		cfg.InsecureSkipVerify = true
		return cfg, nil
	}
	pem, err := os.ReadFile(c.tlsCA)
	if err != nil {
		return nil, fmt.Errorf("hornbeam: reading TLS CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("hornbeam: no certificate in %s", c.tlsCA)
	}
	cfg.RootCAs, cfg.ClientCAs, cfg.ClientAuth = pool, pool, tls.RequireAndVerifyClientCert
	return cfg, nil
}

// logger makes the stderr logger at the flag's level.
func (c config) logger(out io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return nil, fmt.Errorf("hornbeam: bad --log-level %q", c.logLevel)
	}
	return slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: level})), nil
}

// run starts the node the command line asks for and serves until SIGINT or SIGTERM.
func run(args []string, stderr io.Writer) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	log, err := c.logger(stderr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	engine := hooks.New(hooks.Options{ResultTTL: c.taskTTL})
	defer engine.Close()
	if !c.noDemo {
		if err := registerDemo(engine); err != nil {
			return err
		}
	}
	if c.pyModule != "" || c.pySocket != "" {
		pool, err := c.startPython(engine, log)
		if err != nil {
			return err
		}
		defer pool.Close()
	}
	if c.stdio {
		return serveStdio(ctx, engine, log)
	}
	return serveNode(ctx, c, engine, log)
}

// serveStdio serves port mode on stdin and stdout until stdin ends or ctx does. Stdin is made non-blocking so
// that closing it ends a pending read, and a write to a stdout the port's owner closed fails instead of killing
// the process with SIGPIPE.
func serveStdio(ctx context.Context, engine *hooks.Engine, log *slog.Logger) error {
	sigpipe := make(chan os.Signal, 1)
	signal.Notify(sigpipe, syscall.SIGPIPE)
	defer signal.Stop(sigpipe)
	in := os.Stdin
	if err := syscall.SetNonblock(syscall.Stdin, true); err == nil {
		in = os.NewFile(uintptr(syscall.Stdin), "/dev/stdin")
	}
	log.Info("hornbeam: serving port mode on stdin and stdout")
	return port.Serve(ctx, in, os.Stdout, port.Options{Engine: engine, Logger: log})
}

// startPython starts the Python workers and the attach socket the flags ask for.
func (c config) startPython(engine *hooks.Engine, log *slog.Logger) (*python.Pool, error) {
	cfg := python.Config{Module: c.pyModule, Logger: log}
	if c.pyModule != "" {
		cfg.Workers = c.pyWorkers
		cfg.PythonPath = filepath.SplitList(c.pyPath)
	}
	pool, err := python.Start(engine, cfg)
	if err != nil {
		return nil, err
	}
	if c.pySocket != "" {
		if err := pool.ListenUnix(c.pySocket); err != nil {
			pool.Close()
			return nil, err
		}
	}
	log.Info("hornbeam: python ready", "module", c.pyModule, "workers", cfg.Workers, "socket", c.pySocket)
	return pool, nil
}

// serveNode runs the distributed node until ctx ends.
func serveNode(ctx context.Context, c config, engine *hooks.Engine, log *slog.Logger) error {
	name, err := c.nodeName()
	if err != nil {
		return err
	}
	cookie := c.cookie
	if cookie == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return fmt.Errorf("hornbeam: home directory for the cookie: %w", err)
		}
		if cookie, err = readCookie(filepath.Join(home, ".erlang.cookie")); err != nil {
			return err
		}
	}
	tlsCfg, err := c.tlsConfig()
	if err != nil {
		return err
	}
	n, err := node.Start(ctx, node.Options{
		Name:        name,
		Cookie:      cookie,
		ListenBegin: uint16(c.listenBegin),
		ListenEnd:   uint16(c.listenEnd),
		TLS:         tlsCfg,
		Engine:      engine,
		Logger:      log,
		Coalesce:    coalesceOption(c.coalesce),
		Hidden:      c.hidden,
		PGScope:     c.pgScope,
		NoPG:        c.noPG,
	})
	if err != nil {
		return err
	}
	for _, e := range c.expose {
		if err := n.Expose(e.appPath, e.name); err != nil {
			n.Stop()
			return fmt.Errorf("hornbeam: --expose: %w", err)
		}
	}
	log.Info("hornbeam: node up", "name", n.Name(), "demo", !c.noDemo, "hidden", c.hidden)
	<-ctx.Done()
	n.Stop()
	log.Info("hornbeam: node stopped", "name", n.Name())
	return nil
}
