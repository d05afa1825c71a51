package main

import (
	"strings"
	"testing"
)

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     []string
		wantErr string
		check   func(*testing.T, *config)
	}{
		{name: "defaults", check: func(t *testing.T, c *config) {
			if c.Addr != "localhost:8080" || c.DB != "shelf.db" || c.BaseURL.String() != "http://localhost:8080" {
				t.Errorf("defaults = %+v", c)
			}
		}},
		{name: "env", env: []string{"SHELF_ADDR=:9000", "SHELF_DB=/tmp/x.db", "SHELF_BASE_URL=https://books.example.com/", "SHELF_SMTP_URL=smtp://mail.example.com"}, check: func(t *testing.T, c *config) {
			if c.Addr != ":9000" || c.DB != "/tmp/x.db" || c.BaseURL.String() != "https://books.example.com" {
				t.Errorf("env = %+v", c)
			}
		}},
		{name: "flag beats env", args: []string{"-addr", "127.0.0.1:1"}, env: []string{"SHELF_ADDR=:9000"}, check: func(t *testing.T, c *config) {
			if c.Addr != "127.0.0.1:1" {
				t.Errorf("addr = %q", c.Addr)
			}
		}},
		{name: "unknown variable", env: []string{"SHELF_PROT=1"}, wantErr: "unknown setting SHELF_PROT"},
		{name: "bad addr", env: []string{"SHELF_ADDR=8080"}, wantErr: `SHELF_ADDR="8080"`},
		{name: "bad base url", env: []string{"SHELF_BASE_URL=localhost:8080"}, wantErr: "SHELF_BASE_URL"},
		{name: "base url with query", env: []string{"SHELF_BASE_URL=http://a.example/?x=1"}, wantErr: "SHELF_BASE_URL"},
		{name: "empty db", env: []string{"SHELF_DB="}, wantErr: "SHELF_DB"},
		{name: "public base url needs smtp", env: []string{"SHELF_BASE_URL=https://books.example.com"}, wantErr: "SHELF_SMTP_URL is required"},
		{name: "public base url with smtp", env: []string{"SHELF_BASE_URL=https://books.example.com", "SHELF_SMTP_URL=smtps://u:p@mail.example.com"}, check: func(t *testing.T, c *config) {
			if c.Mail.SMTP == nil {
				t.Error("SMTP not configured")
			}
		}},
		{name: "smtp password never echoed", env: []string{"SHELF_SMTP_URL=ftp://user:hunter2@mail.example.com"}, wantErr: "SHELF_SMTP_URL"},
		{name: "search cache off", env: []string{"SHELF_SEARCH_CACHE=0"}, check: func(t *testing.T, c *config) {
			if c.SearchCache != 0 {
				t.Errorf("SearchCache = %d", c.SearchCache)
			}
		}},
		{name: "bad search cache", env: []string{"SHELF_SEARCH_CACHE=lots"}, wantErr: "SHELF_SEARCH_CACHE"},
		{name: "unrelated env ignored", env: []string{"HOME=/root", "SHELFX=1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := loadConfig("shelf", tt.args, tt.env)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Errorf("error shows the SMTP password: %q", err)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error spans lines: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}
