package cmd

import (
	"github.com/spf13/cobra"
)

// examples are each command's Examples section, by command path.
var examples = map[string]string{
	"assist share": `  assist share                   # prints a support key to read to the representative
  assist share --list-displays   # which monitors there are
  assist share --display 1`,
	"assist join": `  assist join 482-193-775-125
  assist join --name "Alice Smith" 482-193-775-125
  assist join 'assist://join/482-193-775-125?rv=%2Fip4%2F…'   # a specialist's invitation link`,
	"assist rendezvous": `  assist rendezvous --data-dir /var/lib/assist \
    --listen /ip4/0.0.0.0/tcp/4001 --listen /ip4/0.0.0.0/udp/4001/quic-v1 --http :8080`,
	"assist id":                    `  assist id`,
	"assist portal create":         `  assist portal create "Acme Support"`,
	"assist portal enroll":         `  assist portal enroll "Acme Support" --name Alice --peer 12D3KooW…   # the ID from Alice's 'assist id'`,
	"assist portal revoke":         `  assist portal revoke "Acme Support" --name Alice`,
	"assist portal publish":        `  assist portal publish "Acme Support"`,
	"assist portal settings":       "  assist portal settings \"Acme Support\"\n  assist portal settings \"Acme Support\" --externals on --max-rights control",
	"assist login":                 "  assist login TOKEN       # the token 'assist portal enroll' printed\n  assist login alice.cred",
	"assist logout":                `  assist logout "Acme Support"`,
	"assist console":               "  assist console\n  assist console --no-browser --json",
	"assist invite":                "  assist invite --rep Bob --comment \"printer driver, ticket 4711\"\n  assist invite --portal \"Acme Support\" --mask\n  assist invite --external --access view --email sam@example.com",
	"assist invite cancel":         `  assist invite cancel 482-193-775-125`,
	"assist reps":                  "  assist reps\n  assist reps --portal \"Acme Support\" bob",
	"assist accept":                `  assist accept 3f9a2c      # the ID the console showed`,
	"assist decline":               `  assist decline 3f9a2c`,
	"assist remove":                `  assist remove "Sam Specialist"`,
	"assist rights":                `  assist rights "Sam Specialist" control`,
	"assist stop-share":            `  assist stop-share`,
	"assist version":               "  assist version\n  assist --version",
	"assist register-links":        "  assist register-links     # then a click on assist://join/482-193-775-125 joins",
	"assist portal":                `  assist portal create "Acme Support"`,
	"assist completion":            "  source <(assist completion bash)     # or: zsh, fish, powershell",
	"assist completion bash":       `  assist completion bash > /etc/bash_completion.d/assist`,
	"assist completion zsh":        `  assist completion zsh > "${fpath[1]}/_assist"`,
	"assist completion fish":       `  assist completion fish > ~/.config/fish/completions/assist.fish`,
	"assist completion powershell": `  assist completion powershell | Out-String | Invoke-Expression`,
}

// completions are the completers of each command's arguments and flags.
var completions = map[string]struct {
	args  completer
	flags map[string]completer
}{
	"assist invite":          {flags: map[string]completer{"rep": repNames, "portal": portalNames}},
	"assist reps":            {flags: map[string]completer{"portal": portalNames}},
	"assist logout":          {args: firstArg(portalNames)},
	"assist portal enroll":   {args: firstArg(portalNames)},
	"assist portal revoke":   {args: firstArg(portalNames)},
	"assist portal publish":  {args: firstArg(portalNames)},
	"assist portal settings": {args: firstArg(portalNames)},
	"assist remove":          {args: attendeeNames},
	"assist rights":          {args: rightsArgs},
}

// rightsArgs completes 'assist rights NAME view|control'.
func rightsArgs(c *cobra.Command, args []string, prefix string) ([]string, cobra.ShellCompDirective) {
	if len(args) == 1 {
		return []string{"view\twatch only", "control\tmouse and keyboard, with the customer's consent"}, cobra.ShellCompDirectiveNoFileComp
	}
	return attendeeNames(c, args, prefix)
}

// decorate gives every command of the tree its examples and completions.
func decorate(c *cobra.Command) {
	path := c.CommandPath()
	if ex, ok := examples[path]; ok {
		c.Example = ex
	}
	if comp, ok := completions[path]; ok {
		if comp.args != nil {
			c.ValidArgsFunction = comp.args
		}
		for flag, f := range comp.flags {
			_ = c.RegisterFlagCompletionFunc(flag, f)
		}
	}
	for _, sub := range c.Commands() {
		decorate(sub)
	}
}
