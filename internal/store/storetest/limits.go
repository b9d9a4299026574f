package storetest

import (
	"slices"
	"strconv"
	"testing"

	"rookery/internal/store"
)

// testMailboxLimits: CreateMailbox, RenameMailbox and SetSubscribed keep
// the MailboxLimits inside their transaction (nothing of a refused change
// is left), parents created on the way count, a rename that adds no
// mailbox is never refused for the count, and mailboxes made before the
// limits stay usable.
func testMailboxLimits(t *testing.T, h *harness) {
	a := h.account("alice")
	count := func() int {
		t.Helper()
		return len(must(h.s.Mailboxes(ctx, a.ID))(t))
	}
	base := count() // the default mailboxes
	// Made before the limits.
	must(h.s.CreateMailbox(ctx, a.ID, "d1/d2/d3/d4", ""))(t)
	must(h.s.CreateMailbox(ctx, a.ID, "averyveryverylongname", ""))(t)
	h.env.Limits = store.MailboxLimits{MaxNameBytes: 16, MaxDepth: 3, MaxMailboxes: base + 8}
	h.reopen()
	if n := count(); n != base+5 {
		t.Fatalf("%d mailboxes, want %d", n, base+5)
	}
	if u := h.quota(a.ID); u.Mailboxes != int64(base+5) || u.MailboxLimit != int64(base+8) {
		t.Fatalf("quota = %+v, want %d of %d mailboxes", u, base+5, base+8)
	}

	_, err := h.s.CreateMailbox(ctx, a.ID, "abcdefghijklmnopq", "") // 17 bytes
	wantErr(t, err, store.ErrNameTooLong)
	_, err = h.s.CreateMailbox(ctx, a.ID, "äbcdefghijklmnop", "") // 16 letters, 17 bytes
	wantErr(t, err, store.ErrNameTooLong)
	must(h.s.CreateMailbox(ctx, a.ID, "abcdefghijklmnop", ""))(t) // base+6
	_, err = h.s.CreateMailbox(ctx, a.ID, "a/b/c/d", "")
	wantErr(t, err, store.ErrNameTooDeep)
	// Three new mailboxes would make base+9: none is created.
	_, err = h.s.CreateMailbox(ctx, a.ID, "m/n/o", "")
	wantErr(t, err, store.ErrTooManyMailboxes)
	if _, err := h.s.Mailbox(ctx, a.ID, "m"); err == nil {
		t.Fatal("the parent of a refused CREATE was left")
	}
	must(h.s.CreateMailbox(ctx, a.ID, "m/n", ""))(t) // base+8, the limit
	_, err = h.s.CreateMailbox(ctx, a.ID, "x", "")
	wantErr(t, err, store.ErrTooManyMailboxes)

	// RENAME: parents it creates count; every new name is checked.
	wantErr(t, h.s.RenameMailbox(ctx, a.ID, "m", "q/r"), store.ErrTooManyMailboxes)
	wantErr(t, h.s.RenameMailbox(ctx, a.ID, "m", "q/r/s"), store.ErrNameTooDeep)             // q/r/s/n
	wantErr(t, h.s.RenameMailbox(ctx, a.ID, "m", "0123456789abcde"), store.ErrNameTooLong)   // …/n: 17
	wantErr(t, h.s.RenameMailbox(ctx, a.ID, "m", "0123456789abcdefg"), store.ErrNameTooLong) // itself
	for _, n := range []string{"m", "m/n"} {
		h.mailbox(a.ID, n)
	}
	// At the limit, a rename that adds nothing is allowed.
	must(0, h.s.RenameMailbox(ctx, a.ID, "m", "0123456789abcd"))(t) // …/n: 16
	h.mailbox(a.ID, "0123456789abcd/n")
	if n := count(); n != base+8 {
		t.Fatalf("%d mailboxes after rename, want %d", n, base+8)
	}

	// Mailboxes made before the limits stay usable.
	deep := h.mailbox(a.ID, "d1/d2/d3/d4")
	h.appendN(deep.ID, 1, store.Flags{})
	must(0, h.s.RenameMailbox(ctx, a.ID, "averyveryverylongname", "short"))(t)
	must(0, h.s.DeleteMailbox(ctx, a.ID, "d1/d2/d3/d4"))(t)
	must(h.s.CreateMailbox(ctx, a.ID, "x", ""))(t) // room again

	// Subscriptions: the name is checked, and at most MaxMailboxes.
	wantErr(t, h.s.SetSubscribed(ctx, a.ID, "abcdefghijklmnopq", true), store.ErrNameTooLong)
	wantErr(t, h.s.SetSubscribed(ctx, a.ID, "s/s/s/s", true), store.ErrNameTooDeep)
	subs := len(must(h.s.Subscriptions(ctx, a.ID))(t))
	for i := subs; i < base+8; i++ {
		must(0, h.s.SetSubscribed(ctx, a.ID, "s"+strconv.Itoa(i), true))(t)
	}
	wantErr(t, h.s.SetSubscribed(ctx, a.ID, "one-more", true), store.ErrTooManySubscriptions)
	must(0, h.s.SetSubscribed(ctx, a.ID, "s"+strconv.Itoa(base), true))(t) // already there
	must(0, h.s.SetSubscribed(ctx, a.ID, "s"+strconv.Itoa(base), false))(t)
	must(0, h.s.SetSubscribed(ctx, a.ID, "one-more", true))(t)
	if got := must(h.s.Subscriptions(ctx, a.ID))(t); len(got) != base+8 || !slices.Contains(got, "one-more") {
		t.Fatalf("subscriptions = %v", got)
	}
	// Other accounts have their own count.
	b := h.account("bob")
	must(h.s.CreateMailbox(ctx, b.ID, "x", ""))(t)
}
