package node

import (
	"flag"
	"strings"
)

// ergo registers -ergo.* flags on the global flag set when its lib package loads; this package drops them so
// a program's own flags are the only ones on flag.CommandLine. ergo's warnings, which go to the standard
// logger past Options.Logger, are switched off: what they report is logged by this package.
func init() {
	if f := flag.Lookup("ergo.warning"); f != nil {
		_ = f.Value.Set("false")
	}
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
