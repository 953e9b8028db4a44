package cmd

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"assist/config"
	"assist/portal"
	"assist/rep"
	"assist/session"
)

// Completion of names, where it is cheap: it asks the running rep process
// (reps online, the hosted session's attendees) or reads the config
// directory (portals), and offers nothing when neither answers.

// completeTimeout bounds a completion's question to the running process.
const completeTimeout = 2 * time.Second

type completer = func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective)

// repNames completes the names of the reps online.
func repNames(_ *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
	client, err := runningRep()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	ctx, cancel := context.WithTimeout(context.Background(), completeTimeout)
	defer cancel()
	reps, _ := client.Reps(ctx, rep.RepsRequest{})
	var out []string
	for _, r := range reps {
		if hasPrefixFold(r.Name, prefix) {
			out = append(out, r.Name+"\t"+r.PortalName)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// attendeeNames completes, as the first argument, the people in the hosted
// session other than the customer and the host.
func attendeeNames(_ *cobra.Command, args []string, prefix string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	client, err := runningRep()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	ctx, cancel := context.WithTimeout(context.Background(), completeTimeout)
	defer cancel()
	list, _ := client.Attendees(ctx)
	var out []string
	for _, a := range list {
		if a.Role != session.RoleCustomer && a.Role != session.RoleHost && hasPrefixFold(a.Name, prefix) {
			out = append(out, a.Name+"\t"+a.Role+", "+a.Rights)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// portalNames completes the portals this user is a rep of or manages.
func portalNames(_ *cobra.Command, args []string, prefix string) ([]string, cobra.ShellCompDirective) {
	dir, err := config.Dir()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	seen := map[string]bool{}
	var out []string
	add := func(name string) {
		if !seen[name] && hasPrefixFold(name, prefix) {
			seen[name] = true
			out = append(out, name)
		}
	}
	if creds, err := portal.Credentials(dir, time.Now()); err == nil {
		for _, c := range creds {
			add(c.PortalName)
		}
	}
	if names, err := portal.Managed(dir); err == nil {
		for _, n := range names {
			add(n)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// firstArg applies c to the first positional argument only.
func firstArg(c completer) completer {
	return func(cmd *cobra.Command, args []string, prefix string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return c(cmd, args, prefix)
	}
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
