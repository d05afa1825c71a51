package addresscheck

import (
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"
)

// The syntax rules, each with its own message. Sign-in, reset and
// sign-in by email apply these alone (through package accounts): an
// address that already has an account is never judged by the lists.

// Limits, in octets: the local part's and the domain's (RFC 5321 4.5.3.1)
// and the whole address's, as a mail server sees it: the domain in its
// ASCII (A-label) form.
const (
	MaxLen       = 254
	MaxLocalLen  = 64
	MaxDomainLen = 253
	maxLabelLen  = 63
)

// Problem is a broken rule. Its text is the message shown: it says what
// to do, not only what is wrong.
type Problem string

func (p Problem) Error() string { return string(p) }

// The syntax problems. Several end with Invalid's example, so each names
// its own cause and still shows the shape of an address.
const (
	Empty         Problem = "Enter your email address."
	Invalid       Problem = "Enter an email address like name@example.com."
	TooLong       Problem = "Use an email address of at most 254 characters."
	Lookalike     Problem = "Use an address without hidden or look-alike characters."
	IPDomain      Problem = "Use an address with a domain name, not an IP address."
	NoAt          Problem = "An address has an @ between the name and the domain. " + Invalid
	NoLocal       Problem = "Add the name before the @. " + Invalid
	NoDomain      Problem = "Add the domain after the @. " + Invalid
	TwoAts        Problem = "Use only one @. " + Invalid
	DisplayName   Problem = "Enter the address alone, without a name, comment or angle brackets. " + Invalid
	Quoted        Problem = "Use an address without quotation marks."
	LocalTooLong  Problem = "Use at most 64 characters before the @."
	LocalChars    Problem = "Remove the spaces or punctuation before the @: use letters, digits and . _ + - there."
	LocalDots     Problem = "Remove the extra dot before the @: a dot cannot come first, last or twice in a row."
	DomainTooLong Problem = "Use a domain of at most 253 characters after the @."
	NoDot         Problem = "Add the domain's ending after the @, like example.com."
	EmptyLabel    Problem = "Remove the extra dot after the @: a dot cannot come first, last or twice in a row."
	LabelTooLong  Problem = "Each part of the domain between dots can have at most 63 characters."
	LabelChars    Problem = "Use only letters, digits and hyphens in the domain, with no hyphen at the start or end of a part."
	BadIDN        Problem = "The domain after the @ is not a valid international domain name. Check its spelling."
)

// profile converts domains as mail is looked up (UTS 46, non-transitional:
// "ß" stays "ß"), with the hostname rules (letters, digits, hyphens) and
// DNS lengths.
var profile = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.Transitional(false),
	idna.StrictDomainName(true), idna.ValidateLabels(true), idna.CheckHyphens(true), idna.CheckJoiners(true))

// Normalize trims space, applies Unicode NFKC (fullwidth and other
// compatibility forms become the letters they look like) and lower-cases
// the domain. The local part keeps its case; uniqueness ignores it.
//
// A domain is kept in its Unicode form (U-labels), not its ASCII one
// ("xn--"): that is what people type, read in mails and recognise on
// their account page, what the look-alike rule judges, and how addresses
// were stored before this package existed. So that one mailbox has one
// spelling, "xn--" labels are decoded when the decoded address passes the
// look-alike rule; when it does not (a Latin name under a Cyrillic
// top-level domain, say), the address keeps its ASCII form, as browsers
// show such domains, and its Unicode spelling is refused by the look-alike
// rule. Either way, the other spelling of the same mailbox never gets a
// second account. DomainASCII gives the ASCII form, for DNS.
func Normalize(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 4*MaxLen {
		return s // refused for its length; not worth normalising
	}
	s = strings.TrimSpace(norm.NFKC.String(s))
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return s
	}
	local, domain := s[:at], strings.ToLower(s[at+1:])
	if strings.Contains(domain, "xn--") {
		if u, err := profile.ToUnicode(domain); err == nil && u != domain && !hasHiddenOrMixedScript(local+"@"+u) {
			domain = u
		}
	}
	return local + "@" + domain
}

// DomainASCII is email's domain in ASCII (A-labels), as DNS and SMTP
// servers without SMTPUTF8 want it, or "" when it has none.
func DomainASCII(email string) string {
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return ""
	}
	a, err := profile.ToASCII(email[at+1:])
	if err != nil {
		return ""
	}
	return a
}

// Syntax applies the syntax rules to a normalised address and returns the
// first it breaks, or "". The rules go from basic to specific.
func Syntax(email string) Problem {
	p, _ := parse(email)
	return p
}

// parse is Syntax that also returns the domain's ASCII form.
func parse(email string) (Problem, string) {
	switch {
	case email == "":
		return Empty, ""
	case len(email) > MaxLen:
		return TooLong, ""
	case hasHiddenOrMixedScript(email):
		return Lookalike, ""
	case strings.ContainsAny(email, "<>()"):
		return DisplayName, ""
	case hasIPDomain(email):
		return IPDomain, ""
	}
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return NoAt, ""
	}
	local, domain := email[:at], email[at+1:]
	switch {
	case strings.HasPrefix(local, `"`) || strings.HasSuffix(local, `"`):
		return Quoted, ""
	case strings.Contains(local, "@"):
		return TwoAts, ""
	case local == "":
		return NoLocal, ""
	case domain == "":
		return NoDomain, ""
	case len(local) > MaxLocalLen:
		return LocalTooLong, ""
	case strings.ContainsAny(local, " \t\",:;[\\]"):
		return LocalChars, ""
	case strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") || strings.Contains(local, ".."):
		return LocalDots, ""
	case strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, ".."):
		return EmptyLabel, ""
	case !strings.Contains(domain, "."):
		return NoDot, ""
	}
	ascii, err := profile.ToASCII(domain)
	if p := labelProblem(ascii); p != "" {
		return p, ""
	}
	if err != nil {
		if isASCII(domain) {
			return LabelChars, ""
		}
		return BadIDN, ""
	}
	switch {
	case len(ascii) > MaxDomainLen:
		return DomainTooLong, ""
	case len(local)+1+len(ascii) > MaxLen:
		return TooLong, ""
	case !validAddress(email):
		return Invalid, "" // whatever else net/mail refuses
	}
	return "", ascii
}

// labelProblem checks an ASCII domain's labels: letters, digits and
// hyphens (LDH), none at a label's ends, at most 63 octets each.
func labelProblem(ascii string) Problem {
	for label := range strings.SplitSeq(ascii, ".") {
		if len(label) > maxLabelLen {
			return LabelTooLong
		}
		if !isASCII(label) {
			continue // an unconverted label: the conversion's error says more
		}
		if label == "" || label[0] == '-' || label[len(label)-1] == '-' {
			return LabelChars
		}
		for i := 0; i < len(label); i++ {
			if c := label[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return LabelChars
			}
		}
	}
	return ""
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// Plausible reports whether email could be an account's address: short
// enough and well-formed (length first: parsing a huge one costs time).
// Sign-in uses it to skip looking up what no account can have.
func Plausible(email string) bool {
	return len(email) <= MaxLen && validAddress(email)
}

// hasHiddenOrMixedScript reports an address that could pass for another:
// one holding an invisible character (format characters such as zero-width
// spaces, joiners, bidi controls, and the other default-ignorable code
// points) or a look-alike Latin letter, or one whose letters are not all of
// one writing system, local part and domain together (a Cyrillic "а" among
// Latin letters, or a Cyrillic "рое" before a Latin domain).
func hasHiddenOrMixedScript(email string) bool {
	for _, r := range email {
		if invisible(r) || lookalikeLetter(r) || lookalikeSymbol(r) {
			return true
		}
	}
	return mixesScripts(email) || strayMark(email)
}

// lookalikeSymbol reports punctuation and symbols outside ASCII: an
// address's separators are ASCII ('.', '-', '_', '+'), and the others that
// look like them ("‐" U+2010, "−" U+2212, "․" U+2024) only make an address
// pass for another.
func lookalikeSymbol(r rune) bool {
	return r >= utf8.RuneSelf && !unicode.IsLetter(r) && !unicode.IsMark(r) && !unicode.IsDigit(r)
}

// strayMark reports a combining mark left over in a Latin, Greek or
// Cyrillic address after NFKC, which composes every accented letter those
// scripts use: what remains ("i" + U+0307 dot above, drawn on an "i" that
// already has a dot) changes nothing visible. Scripts that write with marks
// (Devanagari's vowel signs, say) keep them.
func strayMark(email string) bool {
	script := ""
	for _, r := range email {
		if sc := scriptOf(r); sc != "" {
			script = sc
			break
		}
	}
	if script != "Latin" && script != "Greek" && script != "Cyrillic" {
		return false
	}
	for _, r := range email {
		if unicode.IsMark(r) {
			return true
		}
	}
	return false
}

// lookalikeLetter reports letters that exist to look like other letters:
// the IPA Extensions (U+0250-U+02AF: "ɑ" for "a") and Phonetic Extensions
// (U+1D00-U+1DBF: small capitals such as "ᴀ") blocks, and the dotless and
// dotted i (U+0131 "ı", U+0130 "İ"). No one's address needs them, and in an
// address they pass for "admin" and the like.
//
// Latin Extended-B (U+0180-U+024F) goes too: it holds "ǀ" and "Ɩ" (which
// pass for "l") and the dotless "ȷ". Its other letters serve a few African
// and Native American orthographies, rare in addresses; refusing them is
// the price of not passing one address off as another.
func lookalikeLetter(r rune) bool {
	return (r >= 0x0180 && r <= 0x02AF) || (r >= 0x1D00 && r <= 0x1DBF) || r == 0x0131 || r == 0x0130
}

func invisible(r rune) bool {
	return !unicode.IsPrint(r) || unicode.In(r, unicode.Cf, unicode.Other_Default_Ignorable_Code_Point,
		unicode.Variation_Selector, unicode.Noncharacter_Code_Point) ||
		r == 0x034F || r == 0x115F || r == 0x1160 || r == 0x3164 || r == 0xFFA0 // default-ignorable fillers
}

// mixesScripts reports whether s has letters of more than one script.
// Digits and punctuation (script Common) and combining marks (Inherited)
// belong to none; Han, Hiragana, Katakana, Hangul and Bopomofo count as one,
// since Japanese, Korean and Chinese names mix them.
func mixesScripts(s string) bool {
	seen := ""
	for _, r := range s {
		sc := scriptOf(r)
		if sc == "" {
			continue
		}
		if seen != "" && sc != seen {
			return true
		}
		seen = sc
	}
	return false
}

// frequentScripts are tried before the rest (a map, in no order).
var frequentScripts = []string{"Latin", "Cyrillic", "Greek", "Arabic", "Hebrew", "Devanagari", "Thai"}

func scriptOf(r rune) string {
	if r < utf8.RuneSelf {
		if unicode.IsLetter(r) {
			return "Latin"
		}
		return ""
	}
	if unicode.In(r, unicode.Common, unicode.Inherited) {
		return ""
	}
	if unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul, unicode.Bopomofo) {
		return "CJK"
	}
	for _, sc := range frequentScripts {
		if unicode.Is(unicode.Scripts[sc], r) {
			return sc
		}
	}
	for name, table := range unicode.Scripts {
		if unicode.Is(table, r) {
			return name
		}
	}
	return ""
}

// hasIPDomain reports a domain literal ([192.0.2.1], [IPv6:...]) or a
// domain that resolvers may read as an IP address: mail to those bypasses
// DNS and the names people recognise. inet_aton reads "10.1", "0177.01"
// and "0x7f.0x1" as addresses; a real top-level label is all letters (of
// the address's one script, see hasHiddenOrMixedScript) or an IDNA "xn--"
// label, so any other last label is refused.
func hasIPDomain(email string) bool {
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return false
	}
	domain := email[at+1:]
	if strings.HasPrefix(domain, "[") {
		return true
	}
	tld := domain[strings.LastIndexByte(domain, '.')+1:]
	// A malformed address gets the message saying so (validAddress).
	return tld != "" && !topLevelLabel(tld) && validAddress(email)
}

func topLevelLabel(label string) bool {
	if rest, ok := strings.CutPrefix(label, "xn--"); ok {
		return rest != ""
	}
	for i, r := range label {
		// Letters, and the marks that scripts such as Devanagari write
		// their vowels with (never first): ".भारत" is a top-level label.
		if !unicode.IsLetter(r) && (i == 0 || r < utf8.RuneSelf || !unicode.IsMark(r)) {
			return false
		}
	}
	return true
}

// validAddress accepts a bare address that net/mail parses back unchanged (no
// display name, no angle brackets, no comments) with a dotted domain.
func validAddress(s string) bool {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	domain := s[at+1:]
	return at > 0 && strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}
