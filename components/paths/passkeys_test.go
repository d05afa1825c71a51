package paths

import "testing"

func TestPasskeyLinks(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{PasskeyRenameLink(3), "/account/passkeys/3/name"},
		{PasskeyRemoveLink(12), "/account/passkeys/12/remove"},
		{ReauthNext("/account#passkeys"), "/account/reauth?next=%2Faccount%23passkeys"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
