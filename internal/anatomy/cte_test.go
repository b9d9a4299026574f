package anatomy

import "testing"

// TestTransferEncoding: a Content-Transfer-Encoding is its one token
// (comments aside); anything else is kept whole so that it names no
// known encoding.
func TestTransferEncoding(t *testing.T) {
	tests := []struct{ field, want string }{
		{"", ""},
		{"Content-Transfer-Encoding: base64\r\n", "base64"},
		{"Content-Transfer-Encoding: BASE64\r\n", "base64"},
		{"Content-Transfer-Encoding:  Quoted-Printable \r\n", "quoted-printable"},
		{"Content-Transfer-Encoding: (old mailer) base64 (really)\r\n", "base64"},
		{"Content-Transfer-Encoding:\r\n base64\r\n", "base64"},
		{"Content-Transfer-Encoding: x-uuencode\r\n", "x-uuencode"},
		{"Content-Transfer-Encoding: 7bit garbage\r\n", "7bit garbage"},
		{"Content-Transfer-Encoding: base64;\r\n", "base64;"},
		{"Content-Transfer-Encoding: \"base64\"\r\n", "\"base64\""},
		{"Content-Transfer-Encoding: \r\n", ""},
		// An empty field does not hide a later one (the first value wins).
		{"Content-Transfer-Encoding: \r\nContent-Transfer-Encoding: 8bit\r\n", "8bit"},
	}
	for _, tt := range tests {
		p := ParseBytes([]byte("Content-Type: text/plain\r\n" + tt.field + "\r\nbody\r\n"))
		if p.Encoding != tt.want {
			t.Errorf("%q: Encoding %q, want %q", tt.field, p.Encoding, tt.want)
		}
	}
}
