package paths

// Stand-ins for the short links' paths until their store lands.
const (
	ShortLink     = "/s/:id"
	LinkNew       = "/links/new"
	MyLinks       = "/my-links"
	MyLink        = "/my-links/:id"
	MyLinkDisable = "/my-links/:id/disable"
	MyLinkEnable  = "/my-links/:id/enable"
	MyLinkDelete  = "/my-links/:id/delete"
)

func ShortLinkLink(id string) string { return fill(ShortLink, ":id", id) }
func MyLinkLink(id string) string    { return fill(MyLink, ":id", id) }
