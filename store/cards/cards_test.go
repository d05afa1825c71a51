package cards

import (
	"bytes"
	"context"
	"testing"
	"time"

	"shelf/store"
	"shelf/store/storetest"
)

func TestCards(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		s := New(db, func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) })
		ctx := context.Background()

		if _, ok, err := s.Get(ctx, Book, "7", "v1"); ok || err != nil {
			t.Fatalf("Get before Put = %v, %v", ok, err)
		}
		one := []byte("\x89PNG one")
		if err := s.Put(ctx, Book, "7", "v1", one); err != nil {
			t.Fatal(err)
		}
		if err := s.Put(ctx, Book, "7", "v1", one); err != nil {
			t.Fatalf("storing the same version twice: %v", err)
		}
		if err := s.Put(ctx, Shelf, "7", "v1", []byte("shelf")); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.Has(ctx, Book, "7", "v1"); !ok || err != nil {
			t.Fatalf("Has = %v, %v", ok, err)
		}
		if ok, err := s.Has(ctx, Book, "7", "v0"); ok || err != nil {
			t.Fatalf("Has(another version) = %v, %v", ok, err)
		}
		if png, ok, err := s.Get(ctx, Book, "7", "v1"); !ok || err != nil || !bytes.Equal(png, one) {
			t.Fatalf("Get = %q, %v, %v", png, ok, err)
		}
		two := []byte("\x89PNG two")
		if err := s.Put(ctx, Book, "7", "v2", two); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := s.Get(ctx, Book, "7", "v1"); ok {
			t.Error("the old version outlived the new one")
		}
		if png, ok, _ := s.Get(ctx, Book, "7", "v2"); !ok || !bytes.Equal(png, two) {
			t.Error("new version not stored")
		}
		if _, ok, _ := s.Get(ctx, Shelf, "7", "v1"); !ok {
			t.Error("another kind's card was deleted")
		}
		if err := s.Delete(ctx, Shelf, "7"); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := s.Get(ctx, Shelf, "7", "v1"); ok {
			t.Error("deleted card still found")
		}
	})
}

func TestCardsLimit(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		clock := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		s := New(db, func() time.Time { clock = clock.Add(time.Second); return clock })
		s.Limit = 3
		ctx := context.Background()
		for _, ref := range []string{"1", "2", "3", "4", "5"} {
			if err := s.Put(ctx, Book, ref, "v", []byte(ref)); err != nil {
				t.Fatal(err)
			}
		}
		for ref, want := range map[string]bool{"1": false, "2": false, "3": true, "4": true, "5": true} {
			if ok, err := s.Has(ctx, Book, ref, "v"); ok != want || err != nil {
				t.Errorf("card %s kept: %v, want %v (%v)", ref, ok, want, err)
			}
		}
	})
}
