package components

import (
	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
)

var languageNames = display.English.Tags()

// languageName is a catalog language code as a reader says it: "eng" is
// English, "en-GB" British English, "fre" French. A code it does not know
// is shown as it is.
func languageName(code string) string {
	tag, err := language.Parse(code)
	if err != nil {
		return code
	}
	if base, conf := tag.Base(); conf == language.No || base.String() == "und" {
		return code
	}
	if name := languageNames.Name(tag); name != "" {
		return name
	}
	return code
}
