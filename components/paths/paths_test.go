package paths

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/labstack/echo/v4"
)

func TestLinks(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{SearchLink("harry", 1), "/search?q=harry"},
		{SearchLink("harry", 0), "/search?q=harry"},
		{SearchLink("harry potter", 3), "/search?q=harry+potter&page=3"},
		{SearchLink("a&page=9#x", 2), "/search?q=a%26page%3D9%23x&page=2"},
		{SearchLink("", 1), "/search?q="},
		{BookLink(42), "/books/42"},
		{LoginNext("/account"), "/login?next=%2Faccount"},
		{LoginNext("/search?q=a b&page=2"), "/login?next=%2Fsearch%3Fq%3Da+b%26page%3D2"},
		{RegisterValidateLink("password_confirm"), "/register/validate/password_confirm"},
		{ConfirmLink("abc-DEF_123"), "/confirm/abc-DEF_123"},
		{ConfirmLink("a/b?c#d e%"), "/confirm/a%2Fb%3Fc%23d%20e%25"},
		{ConfirmNotMeLink("abc"), "/confirm/abc/not-me"},
		{ConfirmNotMeLink("../x"), "/confirm/..%2Fx/not-me"},
		{ResetPasswordLink("abc"), "/password/reset/abc"},
		{ResetPasswordLink("a/b"), "/password/reset/a%2Fb"},
		{DevMessageLink(7), "/dev/mail/7"},
		{DevMessageHTMLLink(7), "/dev/mail/7/html"},
		{AdminOutboxRetryLink(12), "/admin/outbox/12/retry"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

// A next that carries its own query comes back whole from the login link.
func TestLoginNextRoundTrips(t *testing.T) {
	next := "/books/1?a=1&b=%2F#frag"
	u, err := url.Parse(LoginNext(next))
	if err != nil {
		t.Fatal(err)
	}
	if u.Path != Login || u.Query().Get("next") != next || len(u.Query()) != 1 {
		t.Errorf("LoginNext(%q) = %q", next, LoginNext(next))
	}
}

// Every link is served by its own route, which gets the parameter back
// unchanged, whatever characters it holds.
func TestLinksMatchTheirRoutes(t *testing.T) {
	token := "a/b?c#d e"
	for _, tc := range []struct{ link, route, param, value string }{
		{BookLink(42), Book, "id", "42"},
		{RegisterValidateLink("email"), RegisterValidate, "field", "email"},
		{ConfirmLink(token), Confirm, "token", token},
		{ConfirmNotMeLink(token), ConfirmNotMe, "token", token},
		{ResetPasswordLink(token), ResetPassword, "token", token},
		{DevMessageLink(3), DevMessage, "n", "3"},
		{DevMessageHTMLLink(3), DevMessageHTML, "n", "3"},
		{AdminOutboxRetryLink(9), AdminOutboxRetry, "id", "9"},
	} {
		e := echo.New()
		var route, value string
		for _, r := range []string{Book, RegisterValidate, Confirm, ConfirmNotMe, ResetPassword, DevMessage, DevMessageHTML, AdminOutboxRetry} {
			e.GET(r, func(c echo.Context) error {
				route = c.Path()
				value, _ = url.PathUnescape(c.Param(tc.param))
				return nil
			})
		}
		req, err := http.NewRequest(http.MethodGet, "http://shelf.test"+tc.link, nil)
		if err != nil {
			t.Errorf("%s: %v", tc.link, err)
			continue
		}
		e.ServeHTTP(httptest.NewRecorder(), req)
		if route != tc.route || value != tc.value {
			t.Errorf("%s reached route %q with %s=%q, want %q with %q", tc.link, route, tc.param, value, tc.route, tc.value)
		}
	}
}
