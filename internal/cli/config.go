package cli

import (
	"fmt"

	"rookery/internal/config"
)

const configUsage = `Usage:
  rookery config check FILE   load and validate a configuration file
  rookery config example      print a fully commented example configuration
`

func runConfig(e *env, args []string) int {
	fs := newFlagSet(e, "config", configUsage)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return flagResult(err)
	}
	if len(pos) == 0 {
		return e.usagef(configUsage, "config: missing subcommand")
	}
	switch pos[0] {
	case "check":
		if len(pos) != 2 {
			return e.usagef(configUsage, "config check: want exactly one FILE")
		}
		cfg, err := config.Load(pos[1])
		if err != nil {
			return e.errorf("%v", err)
		}
		if err := cfg.Validate(); err != nil {
			return e.errorf("%s: %v", pos[1], err)
		}
		fmt.Fprintf(e.stdout, "%s: OK\n", pos[1])
		return ExitOK
	case "example":
		if len(pos) != 1 {
			return e.usagef(configUsage, "config example: unexpected arguments %q", pos[1:])
		}
		fmt.Fprint(e.stdout, config.Example())
		return ExitOK
	}
	return e.usagef(configUsage, "config: unknown subcommand %q", pos[0])
}
