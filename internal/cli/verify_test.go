package cli

import (
	"context"
	"testing"

	"rookery/internal/auth"
	"rookery/internal/events"
	"rookery/internal/store/sqlitestore"
)

// verifyStored opens the data directory and checks user's password.
func verifyStored(t *testing.T, data, user, pw string) bool {
	t.Helper()
	ctx := context.Background()
	st, err := sqlitestore.Open(ctx, data, sqlitestore.Options{Bus: events.NewMemory()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, err = auth.New(st, nil).Login(ctx, user, pw, nil)
	return err == nil
}
