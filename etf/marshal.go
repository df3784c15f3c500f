package etf

import "errors"

// ToTerm converts a Go value to a term by the rules in the package doc.
func ToTerm(v any) (Term, error) {
	return nil, errors.New("etf: ToTerm is not written yet")
}

// FromTerm stores term t in the value pointed to by v by the rules in the package doc.
func FromTerm(t Term, v any) error {
	return errors.New("etf: FromTerm is not written yet")
}
