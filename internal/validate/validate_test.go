package validate

import "testing"

func TestLineAndText_RefuseWhatATextFieldMustNotHold(t *testing.T) {
	tests := []struct {
		name      string
		check     func(v *Errors)
		wantError bool
	}{
		{"line in bounds", func(v *Errors) { v.Line("f", "Firewall logs", 1, 20) }, false},
		{"line empty", func(v *Errors) { v.Line("f", "", 1, 20) }, true},
		{"line too long", func(v *Errors) { v.Line("f", "ääääa", 1, 4) }, true},
		{"line break", func(v *Errors) { v.Line("f", "a\nb", 1, 20) }, true},
		{"line NUL", func(v *Errors) { v.Line("f", "a\x00", 1, 20) }, true},
		{"line invalid UTF-8", func(v *Errors) { v.Line("f", "a\xff", 1, 20) }, true},
		{"text with breaks", func(v *Errors) { v.Text("f", "a\nb\r\n", 10) }, false},
		{"text too long", func(v *Errors) { v.Text("f", "abcd", 3) }, true},
		{"text NUL", func(v *Errors) { v.Text("f", "a\x00", 10) }, true},
	}
	for _, tt := range tests {
		var v Errors
		tt.check(&v)
		if got := v.Err() != nil; got != tt.wantError {
			t.Errorf("%s: error %v, want %v", tt.name, got, tt.wantError)
		}
	}
}
