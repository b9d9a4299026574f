package imapserver

import (
	"context"
	"fmt"
	"strings"

	"rookery/internal/imapcmd"
)

// handler runs one command. It writes its untagged responses and returns
// nil for OK (with c.okCode/c.okText if it sets them) or an error that
// respondError turns into NO/BAD.
type handler func(ctx context.Context, c *conn, cmd *imapcmd.Command) error

// command is one row of the command table.
type command struct {
	name    string
	states  state // states in which the command is valid
	uid     bool  // has a UID form
	handler handler
	// noExpungeBySeq marks commands during which no EXPUNGE may be sent
	// when they use sequence numbers (RFC 9051 §7.5.1).
	noExpungeBySeq bool
}

const (
	anyState  = stateNotAuth | stateAuth | stateSelected
	authed    = stateAuth | stateSelected
	selectedS = stateSelected
)

// commands is the command table, keyed by upper-case name.
var commands = buildTable([]command{
	{name: "CAPABILITY", states: anyState, handler: cmdCapability},
	{name: "NOOP", states: anyState, handler: cmdNoop},
	{name: "LOGOUT", states: anyState, handler: cmdLogout},
	{name: "ID", states: anyState, handler: cmdID},
	{name: "STARTTLS", states: stateNotAuth, handler: cmdStartTLS},
	{name: "LOGIN", states: stateNotAuth, handler: cmdLogin},
	{name: "AUTHENTICATE", states: stateNotAuth, handler: cmdAuthenticate},
	{name: "ENABLE", states: stateAuth, handler: cmdEnable},
	{name: "IDLE", states: authed, handler: cmdIdle},
	{name: "SELECT", states: authed, handler: cmdSelect},
	{name: "EXAMINE", states: authed, handler: cmdSelect},
	{name: "CREATE", states: authed, handler: cmdCreate},
	{name: "DELETE", states: authed, handler: cmdDelete},
	{name: "RENAME", states: authed, handler: cmdRename},
	{name: "SUBSCRIBE", states: authed, handler: cmdSubscribe},
	{name: "UNSUBSCRIBE", states: authed, handler: cmdSubscribe},
	{name: "LIST", states: authed, handler: cmdList},
	{name: "LSUB", states: authed, handler: cmdLsub},
	{name: "NAMESPACE", states: authed, handler: cmdNamespace},
	{name: "STATUS", states: authed, handler: cmdStatus},
	{name: "APPEND", states: authed, handler: cmdAppend},
	{name: "GETQUOTA", states: authed, handler: cmdGetQuota},
	{name: "GETQUOTAROOT", states: authed, handler: cmdGetQuotaRoot},
	{name: "SETQUOTA", states: authed, handler: cmdSetQuota},
	{name: "CHECK", states: selectedS, handler: cmdNoop},
	{name: "CLOSE", states: selectedS, handler: cmdClose},
	{name: "UNSELECT", states: selectedS, handler: cmdClose},
	{name: "EXPUNGE", states: selectedS, uid: true, handler: cmdExpunge},
	{name: "STORE", states: selectedS, uid: true, handler: cmdStore, noExpungeBySeq: true},
	{name: "COPY", states: selectedS, uid: true, handler: cmdCopy, noExpungeBySeq: true},
	{name: "MOVE", states: selectedS, uid: true, handler: cmdCopy},
	{name: "FETCH", states: selectedS, uid: true, handler: cmdFetch, noExpungeBySeq: true},
	{name: "SEARCH", states: selectedS, uid: true, handler: cmdSearch, noExpungeBySeq: true},
	{name: "SORT", states: selectedS, uid: true, handler: cmdSort, noExpungeBySeq: true},
	{name: "THREAD", states: selectedS, uid: true, handler: cmdThread, noExpungeBySeq: true},
})

func buildTable(rows []command) map[string]*command {
	m := make(map[string]*command, len(rows))
	for i := range rows {
		r := &rows[i]
		if _, dup := m[r.name]; dup || r.name != strings.ToUpper(r.name) {
			panic(fmt.Sprintf("imapserver: bad command table row %q", r.name))
		}
		m[r.name] = r
	}
	return m
}
