package global

import "github.com/hornbeam-go/hornbeam/etf"

// brief renders a peer's term for a log line within etf's default bounds (etf.Brief).
func brief(t etf.Term) string { return etf.Brief(t, etf.BriefDepth, etf.BriefBytes) }
