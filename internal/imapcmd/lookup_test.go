package imapcmd

// testLookup is the command table of these tests: the server's table
// (imapserver) is the real one and names the same parse functions.
func testLookup(name string, uid bool) ArgsFunc {
	if uid {
		switch name {
		case "FETCH":
			return args(ParseFetch)
		case "STORE":
			return args(ParseStore)
		case "COPY", "MOVE":
			return args(ParseCopy)
		case "EXPUNGE":
			return args(ParseUIDExpunge)
		case "SEARCH":
			return args(ParseSearch)
		case "SORT":
			return args(ParseSort)
		case "THREAD":
			return args(ParseThread)
		}
		return nil
	}
	switch name {
	case "CAPABILITY", "NOOP", "LOGOUT", "STARTTLS", "CHECK", "CLOSE", "UNSELECT", "IDLE", "NAMESPACE", "EXPUNGE":
		return func(p *Parser) (any, error) { return nil, nil }
	}
	f, ok := map[string]ArgsFunc{
		"AUTHENTICATE": args(ParseAuthenticate), "LOGIN": args(ParseLogin), "ENABLE": args(ParseEnable),
		"ID": args(ParseID), "SELECT": args(ParseSelect), "EXAMINE": args(ParseSelect),
		"CREATE": args(ParseCreate), "DELETE": args(ParseMailbox), "SUBSCRIBE": args(ParseMailbox),
		"UNSUBSCRIBE": args(ParseMailbox), "RENAME": args(ParseRename), "LIST": args(ParseList),
		"LSUB": args(ParseLsub), "STATUS": args(ParseStatus), "APPEND": args(ParseAppend),
		"STORE": args(ParseStore), "COPY": args(ParseCopy), "MOVE": args(ParseCopy), "FETCH": args(ParseFetch),
		"SEARCH": args(ParseSearch), "SORT": args(ParseSort), "THREAD": args(ParseThread),
		"GETQUOTA": args(ParseGetQuota), "GETQUOTAROOT": args(ParseGetQuotaRoot), "SETQUOTA": args(ParseSetQuota),
	}[name]
	if !ok {
		return nil
	}
	return f
}

func args[T any](f func(*Parser) (T, error)) ArgsFunc {
	return func(p *Parser) (any, error) { return f(p) }
}
