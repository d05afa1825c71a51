package addresscheck

import (
	"slices"
	"strings"
)

// "Did you mean …?" compares a domain with popular mail providers and with
// common second-level names under common top-level domains. The lists
// start from mailcheck's (https://github.com/mailcheck/mailcheck, MIT,
// Derrick Ko and contributors), with big providers it lacks added.

// popular are the providers most addresses are at; a typo of one is the
// likeliest mistake.
var popular = []string{
	"gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "icloud.com", "aol.com", "live.com", "msn.com",
	"googlemail.com", "me.com", "mac.com", "ymail.com", "rocketmail.com", "protonmail.com", "proton.me",
	"gmx.com", "gmx.net", "gmx.de", "web.de", "mail.com", "zoho.com", "yandex.com", "yandex.ru", "mail.ru",
	"qq.com", "163.com", "comcast.net", "verizon.net", "att.net", "sbcglobal.net", "bellsouth.net",
	"cox.net", "charter.net", "earthlink.net", "optonline.net", "btinternet.com", "sky.com", "shaw.ca",
	"rogers.com", "sympatico.ca", "telus.net", "optusnet.com.au", "xtra.co.nz", "aim.com", "google.com",
	"hotmail.co.uk", "yahoo.co.uk", "outlook.fr", "hotmail.fr", "orange.fr", "free.fr", "libero.it",
}

// secondLevel and topLevel (mailcheck's) make the other candidates: a
// second-level name and a top-level domain, each corrected on its own
// ("yaho.co.ukk" to "yahoo.co.uk").
var (
	secondLevel = []string{"yahoo", "hotmail", "mail", "live", "outlook", "gmx", "ymail", "gmail", "protonmail"}
	topLevel    = []string{"com", "com.au", "com.tw", "ca", "co.nz", "co.uk", "de", "fr", "it", "ru", "net", "org", "edu",
		"gov", "jp", "nl", "kr", "se", "eu", "ie", "co.il", "us", "at", "be", "dk", "hk", "es", "gr", "ch", "no", "cz",
		"in", "net.au", "info", "biz", "mil", "co.jp", "sg", "hu", "uk", "io", "ai", "co.in"}
)

// realDomains are never corrected: the popular providers themselves and
// real smaller ones that sit a letter or two from a popular one, which
// mailcheck wrongly "corrects" (mailcheck issue 63).
var realDomains = setOf(append([]string{
	"mailo.com", "mailw.com", "gmx.de", "gmx.at", "gmx.ch", "gmx.fr", "web.de", "proton.me", "pm.me", "protonmail.ch",
	"hey.com", "fastmail.com", "fastmail.fm", "icloud.com", "yandex.ru", "ya.ru", "mail.de", "mail.ee", "email.com",
	"live.de", "live.fr", "live.nl", "live.it", "live.ca", "hotmail.de", "hotmail.it", "hotmail.es", "yahoo.de",
	"yahoo.fr", "yahoo.it", "yahoo.es", "yahoo.ca", "yahoo.in", "yahoo.co.jp", "outlook.de", "outlook.es",
	"outlook.it", "tuta.com", "tutanota.com", "tutanota.de", "tuta.io", "posteo.de", "posteo.net", "mailbox.org",
	"aol.de", "aol.fr", "laposte.net", "sfr.fr", "wanadoo.fr", "t-online.de", "arcor.de", "seznam.cz",
	"naver.com", "daum.net", "hanmail.net", "126.com", "sina.com", "inbox.ru", "list.ru", "bk.ru", "rambler.ru",
	"zoho.eu", "duck.com", "mozmail.com", "hush.com", "runbox.com", "disroot.org", "riseup.net", "me.com", "mac.com",
	"ymail.com", "msn.com", "mail.com", "mail.ru",
}, popular...)...)

// typoSquats are typo domains of the big providers, registered by others
// to catch the mail sent to them: an address there is one letter from the
// reader's own and delivers to a stranger. Sign-up asks for an explicit
// "Yes, use this address" before going on.
var typoSquats = setOf(
	"gmai.com", "gmil.com", "gmial.com", "gamil.com", "gmal.com", "gmaill.com", "gmali.com", "gnail.com", "gmaul.com",
	"gmail.co", "gmail.cm", "gmail.om", "gmailcom.com", "hotmial.com", "hotmal.com", "hotmai.com", "hotmil.com",
	"homail.com", "hotamil.com", "hotmaill.com", "yaho.com", "yahho.com", "yahooo.com", "yhoo.com", "yahoo.co",
	"outlok.com", "outllok.com", "otlook.com", "outloo.com", "iclod.com", "icoud.com", "iclould.com", "aol.co",
)

// relays are privacy relays: an address there forwards to the reader's
// own mailbox, for good, so it is never taken for a throwaway (DuckDuckGo,
// SimpleLogin, addy.io, Firefox Relay, Apple's Hide My Email, Proton Pass).
var relays = setOf(
	"duck.com", "simplelogin.com", "simplelogin.io", "simplelogin.fr", "simplelogin.co", "aleeas.com", "slmail.me",
	"silomails.com", "slmails.com", "8alias.com", "8shield.net", "dralias.com", "anonaddy.com", "anonaddy.me",
	"addy.io", "mozmail.com", "privaterelay.appleid.com", "passmail.net", "passmail.com", "passfwd.com", "passinbox.com",
)

func setOf(domains ...string) map[string]struct{} {
	m := make(map[string]struct{}, len(domains))
	for _, d := range domains {
		m[d] = struct{}{}
	}
	return m
}

// shortDomain is the longest domain (in bytes) compared at distance 1; a
// longer one may be 2 edits from its provider. Two edits in a short name
// reach too many real domains ("me.com" and "ne.jp", "aol.com" and "aok.co").
const shortDomain = 8

// suggest returns the provider domain that an ASCII, lower-case domain is
// probably a typo of, or "". It never returns domain itself, nor corrects
// a real domain (realDomains).
func suggest(domain string) string {
	if _, ok := realDomains[domain]; ok || !isASCII(domain) {
		return ""
	}
	limit := 1
	if len(domain) > shortDomain {
		limit = 2
	}
	best, bestDist := "", limit+1
	for _, p := range popular {
		if d := distance(domain, p, bestDist-1); d > 0 && d < bestDist {
			best, bestDist = p, d
		}
	}
	// A second-level name and a top-level domain, each corrected.
	sld, tld, ok := strings.Cut(domain, ".")
	if ok && slices.Contains(secondLevel, sld) && slices.Contains(topLevel, tld) {
		return "" // a candidate itself
	}
	if ok && bestDist > 1 {
		bestSLD, dSLD := nearest(sld, secondLevel, limit)
		bestTLD, dTLD := nearest(tld, topLevel, limit)
		if bestSLD != "" && bestTLD != "" && dSLD+dTLD > 0 && dSLD+dTLD < bestDist {
			best, bestDist = bestSLD+"."+bestTLD, dSLD+dTLD
		}
	}
	if best == domain {
		return ""
	}
	return best
}

// nearest returns the closest of candidates within limit edits of s, and
// the edits.
func nearest(s string, candidates []string, limit int) (string, int) {
	best, bestDist := "", limit+1
	for _, c := range candidates {
		if d := distance(s, c, bestDist-1); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best, bestDist
}

// distance is the optimal string alignment distance of a and b (ASCII):
// insertions, deletions, substitutions and swaps of neighbours each count
// one ("gmial" is one from "gmail"). It returns limit+1 as soon as the
// distance must exceed limit.
func distance(a, b string, limit int) int {
	if d := len(a) - len(b); d > limit || -d > limit {
		return limit + 1
	}
	if len(a) > 32 || len(b) > 32 {
		return limit + 1 // longer than every candidate by more than any limit
	}
	var rows [3][33]int
	prev2, prev, cur := &rows[0], &rows[1], &rows[2]
	for j := 0; j <= len(b); j++ {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			cur[j] = v
			rowMin = min(rowMin, v)
		}
		if rowMin > limit {
			return limit + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return min(prev[len(b)], limit+1)
}
