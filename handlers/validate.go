package handlers

import "shelf/store/accounts"

// Form collects one message per invalid field. The same checks run for a
// single field (in-place validation) and for the whole form (submit).
type Form struct {
	FieldErrors map[string]string
}

// CheckField records message for field unless ok. The first failing check of
// a field wins, so rules go from basic to specific.
func (f *Form) CheckField(ok bool, field, message string) {
	if ok {
		return
	}
	if f.FieldErrors == nil {
		f.FieldErrors = map[string]string{}
	}
	if _, exists := f.FieldErrors[field]; !exists {
		f.FieldErrors[field] = message
	}
}

// Check records problem, if any, for field: the message of a broken rule
// (see package accounts).
func (f *Form) Check(field string, problem error) {
	if problem != nil {
		f.CheckField(false, field, problem.Error())
	}
}

// Valid reports whether every check passed.
func (f *Form) Valid() bool { return len(f.FieldErrors) == 0 }

// Error returns the message for field, or "".
func (f *Form) Error(field string) string { return f.FieldErrors[field] }

// Field names, shared by forms, validation endpoints and templates.
const (
	fieldEmail           = "email"
	fieldPassword        = "password"
	fieldPasswordConfirm = "password_confirm"
)

// The repeated password's messages.
const (
	msgConfirmEmpty    = "Enter the password again."
	msgConfirmMismatch = "The passwords do not match. Type the same password twice."
)

// checkPasswordConfirm checks the repeated password.
func checkPasswordConfirm(f *Form, field, pw, confirm string) {
	f.CheckField(confirm != "", field, msgConfirmEmpty)
	f.CheckField(confirm == pw, field, msgConfirmMismatch)
}

// checkEmail records the address rules' verdict on a normalised address.
func checkEmail(f *Form, field, email string) { f.Check(field, accounts.CheckEmail(email)) }

// checkPassword records the password rules' verdict.
func checkPassword(f *Form, field, pw string) { f.Check(field, accounts.CheckPassword(pw)) }
