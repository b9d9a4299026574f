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

// binding is a command's syntax and semantics: how imapcmd parses its
// arguments and the handler that runs it.
type binding struct {
	parse imapcmd.ArgsFunc
	run   handler
}

// bind pairs an imapcmd parse function with the handler of the argument
// type it returns: the compiler checks that they agree, and this is the one
// place where parsed arguments are handed to handlers.
func bind[T any](parse func(*imapcmd.Parser) (T, error), h func(context.Context, *conn, *imapcmd.Command, T) error) binding {
	return binding{
		parse: func(p *imapcmd.Parser) (any, error) { return parse(p) },
		run: func(ctx context.Context, c *conn, cmd *imapcmd.Command) error {
			return h(ctx, c, cmd, cmd.Args.(T))
		},
	}
}

// command is one row of the command table.
type command struct {
	name   string
	states state // states in which the command is valid
	binding
	// uid is the binding of "UID <name>", nil when there is no UID form.
	uid *binding
	// noExpungeBySeq marks commands during which no EXPUNGE may be sent
	// when they use sequence numbers (RFC 9051 §7.5.1).
	noExpungeBySeq bool
	// readsConn marks commands that read from the connection while they
	// run (literals, continuations, DONE): no hangup watcher for them.
	readsConn bool
}

// withUID gives a row a UID form with the same syntax and handler.
func withUID(r command) command {
	r.uid = &r.binding
	return r
}

const (
	anyState  = stateNotAuth | stateAuth | stateSelected
	authed    = stateAuth | stateSelected
	selectedS = stateSelected
)

// uidExpunge is UID EXPUNGE: unlike EXPUNGE it takes a UID set.
var uidExpunge = bind(imapcmd.ParseUIDExpunge, cmdUIDExpunge)

// commands is the command table, keyed by upper-case name: the one list of
// the commands the server knows (imapcmd.Read is given lookup).
var commands = buildTable([]command{
	{name: "CAPABILITY", states: anyState, binding: bind(imapcmd.ParseNone, cmdCapability)},
	{name: "NOOP", states: anyState, binding: bind(imapcmd.ParseNone, cmdNoop)},
	{name: "LOGOUT", states: anyState, binding: bind(imapcmd.ParseNone, cmdLogout)},
	{name: "ID", states: anyState, binding: bind(imapcmd.ParseID, cmdID)},
	{name: "STARTTLS", states: stateNotAuth, binding: bind(imapcmd.ParseNone, cmdStartTLS), readsConn: true},
	{name: "LOGIN", states: stateNotAuth, binding: bind(imapcmd.ParseLogin, cmdLogin)},
	{name: "AUTHENTICATE", states: stateNotAuth, binding: bind(imapcmd.ParseAuthenticate, cmdAuthenticate), readsConn: true},
	{name: "ENABLE", states: stateAuth, binding: bind(imapcmd.ParseEnable, cmdEnable)},
	{name: "IDLE", states: authed, binding: bind(imapcmd.ParseNone, cmdIdle), readsConn: true},
	{name: "SELECT", states: authed, binding: bind(imapcmd.ParseSelect, cmdSelect)},
	{name: "EXAMINE", states: authed, binding: bind(imapcmd.ParseSelect, cmdSelect)},
	{name: "CREATE", states: authed, binding: bind(imapcmd.ParseCreate, cmdCreate)},
	{name: "DELETE", states: authed, binding: bind(imapcmd.ParseMailbox, cmdDelete)},
	{name: "RENAME", states: authed, binding: bind(imapcmd.ParseRename, cmdRename)},
	{name: "SUBSCRIBE", states: authed, binding: bind(imapcmd.ParseMailbox, cmdSubscribe)},
	{name: "UNSUBSCRIBE", states: authed, binding: bind(imapcmd.ParseMailbox, cmdSubscribe)},
	{name: "LIST", states: authed, binding: bind(imapcmd.ParseList, cmdList)},
	{name: "LSUB", states: authed, binding: bind(imapcmd.ParseLsub, cmdLsub)},
	{name: "NAMESPACE", states: authed, binding: bind(imapcmd.ParseNone, cmdNamespace)},
	{name: "STATUS", states: authed, binding: bind(imapcmd.ParseStatus, cmdStatus)},
	{name: "APPEND", states: authed, binding: bind(imapcmd.ParseAppend, cmdAppend), readsConn: true},
	{name: "GETQUOTA", states: authed, binding: bind(imapcmd.ParseGetQuota, cmdGetQuota)},
	{name: "GETQUOTAROOT", states: authed, binding: bind(imapcmd.ParseGetQuotaRoot, cmdGetQuotaRoot)},
	{name: "SETQUOTA", states: authed, binding: bind(imapcmd.ParseSetQuota, cmdSetQuota)},
	{name: "CHECK", states: selectedS, binding: bind(imapcmd.ParseNone, cmdNoop)},
	{name: "CLOSE", states: selectedS, binding: bind(imapcmd.ParseNone, cmdClose)},
	{name: "UNSELECT", states: selectedS, binding: bind(imapcmd.ParseNone, cmdClose)},
	{name: "EXPUNGE", states: selectedS, binding: bind(imapcmd.ParseNone, cmdExpunge), uid: &uidExpunge},
	withUID(command{name: "STORE", states: selectedS, binding: bind(imapcmd.ParseStore, cmdStore), noExpungeBySeq: true}),
	withUID(command{name: "COPY", states: selectedS, binding: bind(imapcmd.ParseCopy, cmdCopy), noExpungeBySeq: true}),
	withUID(command{name: "MOVE", states: selectedS, binding: bind(imapcmd.ParseCopy, cmdCopy)}),
	withUID(command{name: "FETCH", states: selectedS, binding: bind(imapcmd.ParseFetch, cmdFetch), noExpungeBySeq: true}),
	withUID(command{name: "SEARCH", states: selectedS, binding: bind(imapcmd.ParseSearch, cmdSearch), noExpungeBySeq: true}),
	withUID(command{name: "SORT", states: selectedS, binding: bind(imapcmd.ParseSort, cmdSort), noExpungeBySeq: true}),
	withUID(command{name: "THREAD", states: selectedS, binding: bind(imapcmd.ParseThread, cmdThread), noExpungeBySeq: true}),
})

// lookup is the imapcmd.Lookup of the command table.
func lookup(name string, uid bool) imapcmd.ArgsFunc {
	r, ok := commands[name]
	switch {
	case !ok:
		return nil
	case uid && r.uid == nil:
		return nil
	case uid:
		return r.uid.parse
	}
	return r.parse
}

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
