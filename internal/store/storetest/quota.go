package storetest

import (
	"strings"
	"testing"

	"rookery/internal/imapnum"
	"rookery/internal/store"
)

func i64(v int64) *int64 { return &v }

func (h *harness) quota(acct store.AccountID) store.QuotaUsage {
	h.t.Helper()
	return must(h.s.Quota(ctx, acct))(h.t)
}

// testQuota: usage follows every change, limits are enforced inside the
// transaction of Append and Copy, MOVE is never refused, and usage survives
// a reopen.
func testQuota(t *testing.T, h *harness) {
	a := h.account("quota")
	inbox := h.mailbox(a.ID, "INBOX")
	nbox := int64(len(must(h.s.Mailboxes(ctx, a.ID))(t)))
	if u := h.quota(a.ID); u != (store.QuotaUsage{Mailboxes: nbox}) {
		t.Fatalf("new account usage = %+v, want zero but %d mailboxes", u, nbox)
	}
	wantErr(t, h.s.SetQuota(ctx, "nobody", store.Quota{Messages: i64(1)}), store.ErrNoSuchAccount)

	uids := h.appendN(inbox.ID, 3, store.Flags{})
	u := h.quota(a.ID)
	msgs := h.fetchAll(inbox.ID)
	var size int64
	for _, m := range msgs {
		size += m.Size
	}
	if u.Messages != 3 || u.StorageBytes != size {
		t.Fatalf("usage = %+v, want 3 messages, %d bytes", u, size)
	}

	// Message limit: 4 allows one more, not two (MULTIAPPEND is atomic).
	must(0, h.s.SetQuota(ctx, "quota", store.Quota{Messages: i64(4)}))(t)
	if u := h.quota(a.ID); u.MessageLimit != 4 || u.StorageLimitBytes != 0 {
		t.Fatalf("limits = %+v, want 4 messages, unlimited storage", u)
	}
	_, err := h.s.Append(ctx, inbox.ID, []store.NewMessage{{Blob: h.blob("x1\r\n")}, {Blob: h.blob("x2\r\n")}})
	wantErr(t, err, store.ErrOverQuota)
	if u := h.quota(a.ID); u.Messages != 3 {
		t.Fatalf("after refused append usage = %+v", u)
	}
	h.appendN(inbox.ID, 1, store.Flags{})
	sent := h.mailbox(a.ID, "Sent")
	_, err = h.s.Copy(ctx, inbox.ID, imapnum.Set{{Start: uids[0], Stop: uids[0]}}, sent.ID)
	wantErr(t, err, store.ErrOverQuota)
	// MOVE does not change usage: allowed even at the limit.
	must(h.s.Move(ctx, inbox.ID, imapnum.Set{{Start: uids[0], Stop: uids[0]}}, sent.ID))(t)
	if u := h.quota(a.ID); u.Messages != 4 {
		t.Fatalf("after move usage = %+v, want 4 messages", u)
	}

	// Storage limit.
	must(0, h.s.SetQuota(ctx, "quota", store.Quota{Messages: i64(0), StorageBytes: i64(h.quota(a.ID).StorageBytes + 10)}))(t)
	_, err = h.s.Append(ctx, inbox.ID, []store.NewMessage{{Blob: h.blob(strings.Repeat("y", 11))}})
	wantErr(t, err, store.ErrOverQuota)
	must(h.s.Append(ctx, inbox.ID, []store.NewMessage{{Blob: h.blob(strings.Repeat("z", 10))}}))(t)

	// Expunge and DeleteMailbox give space back.
	must(h.s.StoreFlags(ctx, sent.ID, imapnum.Set{{Start: 1, Stop: ^uint32(0)}}, store.FlagsAdd, store.Flags{Sys: store.FlagDeleted}, 0))(t)
	must(h.s.Expunge(ctx, sent.ID, nil))(t)
	if u := h.quota(a.ID); u.Messages != 4 {
		t.Fatalf("after expunge usage = %+v, want 4 messages", u)
	}
	must(0, h.s.SetQuota(ctx, "quota", store.Quota{StorageBytes: i64(0)}))(t)
	must(h.s.CreateMailbox(ctx, a.ID, "Box", ""))(t)
	box := h.mailbox(a.ID, "Box")
	must(h.s.Copy(ctx, inbox.ID, imapnum.Set{{Start: 1, Stop: ^uint32(0)}}, box.ID))(t)
	before := h.quota(a.ID)
	must(0, h.s.DeleteMailbox(ctx, a.ID, "Box"))(t)
	if u := h.quota(a.ID); u.Messages != before.Messages-4 {
		t.Fatalf("after delete mailbox usage = %+v (before %+v)", u, before)
	}
	must(0, h.s.SetQuota(ctx, "quota", store.Quota{StorageBytes: i64(store.QuotaDefault)}))(t)
	got := h.quota(a.ID)
	h.reopen()
	if u := h.quota(a.ID); u != got {
		t.Fatalf("after reopen usage = %+v, want %+v", u, got)
	}
	infos := must(h.s.Accounts(ctx))(t)
	if len(infos) != 1 || infos[0].Messages != got.Messages || infos[0].Bytes != got.StorageBytes {
		t.Fatalf("Accounts = %+v, want usage %+v", infos, got)
	}
}

// testSCRAMSecret: the secret is stored with the account.
func testSCRAMSecret(t *testing.T, h *harness) {
	h.account("s")
	if a := must(h.s.Account(ctx, "s"))(t); a.SCRAMSecret != "" {
		t.Fatalf("new account SCRAMSecret = %q", a.SCRAMSecret)
	}
	must(0, h.s.SetSCRAMSecret(ctx, "s", "secret"))(t)
	if a := must(h.s.Account(ctx, "s"))(t); a.SCRAMSecret != "secret" {
		t.Fatalf("SCRAMSecret = %q", a.SCRAMSecret)
	}
	wantErr(t, h.s.SetSCRAMSecret(ctx, "nobody", "x"), store.ErrNoSuchAccount)
}
