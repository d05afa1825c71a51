package handlers

import "strings"

// browserSummary names a User-Agent's browser and system the way people
// say them ("Firefox on Linux", "Safari on iPhone"). Only this summary is
// stored and shown: it is enough for the owner of an address to recognise a
// sign-up of their own, and it never echoes text the client chose.
func browserSummary(ua string) string {
	browser := firstMatch(ua, []nameMark{
		{"Edge", "Edg/"}, {"Edge", "Edge/"}, {"Opera", "OPR/"}, {"Samsung Internet", "SamsungBrowser/"},
		{"Firefox", "Firefox/"}, {"Firefox", "FxiOS/"}, {"Chrome", "CriOS/"}, {"Chromium", "Chromium/"},
		{"Chrome", "Chrome/"}, {"Safari", "Safari/"}, {"curl", "curl/"}, {"Wget", "Wget/"},
		{"a script (Python)", "python-"}, {"a script (Go)", "Go-http-client/"},
	})
	system := firstMatch(ua, []nameMark{
		{"iPhone", "iPhone"}, {"iPad", "iPad"}, {"Android", "Android"}, {"ChromeOS", "CrOS"},
		{"Windows", "Windows"}, {"macOS", "Macintosh"}, {"Linux", "Linux"}, {"BSD", "BSD"},
	})
	switch {
	case browser == "" && system == "":
		return "an unknown browser"
	case browser == "":
		return "a browser on " + system
	case system == "":
		return browser
	}
	return browser + " on " + system
}

type nameMark struct{ name, mark string }

func firstMatch(ua string, marks []nameMark) string {
	for _, m := range marks {
		if strings.Contains(ua, m.mark) {
			return m.name
		}
	}
	return ""
}
