//go:build !hbtrace

package steptrace

// Mark records step (with -tags hbtrace; here it does nothing).
func Mark(Step) {}
