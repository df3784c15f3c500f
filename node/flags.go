package node

import (
	"flag"
	"strings"
)

// ergo registers -ergo.* flags on the global flag set when its lib package loads; this package drops them so
// a program's own flags are the only ones on flag.CommandLine.
func init() {
	kept := flag.NewFlagSet(flag.CommandLine.Name(), flag.CommandLine.ErrorHandling())
	kept.SetOutput(flag.CommandLine.Output())
	kept.Usage = func() { flag.Usage() }
	flag.CommandLine.VisitAll(func(f *flag.Flag) {
		if !strings.HasPrefix(f.Name, "ergo.") {
			kept.Var(f.Value, f.Name, f.Usage)
		}
	})
	flag.CommandLine = kept
}
