package metrics

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestMetrics(t *testing.T) {
	m := New(func(context.Context) (StoreSizes, error) {
		return StoreSizes{Accounts: 2, Messages: 5, Bytes: 1234, IndexPending: 3, IndexLag: 1500 * time.Millisecond}, nil
	})
	m.ConnOpened()
	m.Command("FETCH", "OK", 3*time.Millisecond)
	m.Delivered("ok")
	m.AuthFailed("PLAIN")
	m.ConnRefused("max_conns_per_ip")
	m.ConnRefused("max_conns_per_ip")
	m.ConnRefused("max_conns_per_user")
	m.LoginThrottled("delayed")
	m.LoginThrottled("refused")
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`rookery_imap_connections 1`,
		`rookery_imap_commands_total{command="FETCH",result="OK"} 1`,
		`rookery_imap_command_duration_seconds_bucket{command="FETCH",le="0.005"} 1`,
		`rookery_deliveries_total{result="ok"} 1`,
		`rookery_auth_failures_total{mechanism="PLAIN"} 1`,
		`rookery_imap_connections_refused_total{reason="max_conns_per_ip"} 2`,
		`rookery_imap_connections_refused_total{reason="max_conns_per_user"} 1`,
		`rookery_auth_throttled_total{outcome="delayed"} 1`,
		`rookery_auth_throttled_total{outcome="refused"} 1`,
		`rookery_store_messages 5`,
		`rookery_store_bytes 1234`,
		`rookery_search_index_pending 3`,
		`rookery_search_index_lag_seconds 1.5`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
