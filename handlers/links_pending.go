package handlers

import (
	"context"

	"shelf/store/previews"
)

// LinkPreviews stands in for the short links' handlers until they land.
type LinkPreviews interface {
	Enqueue(ctx context.Context, url string) (previews.Preview, error)
	Get(ctx context.Context, key string) (previews.Preview, bool, error)
}
