package cmd

import (
	"context"
	"fmt"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/spf13/cobra"

	"assist/config"
)

// IDOptions are the flags of 'assist id'.
type IDOptions struct {
	IO *IO
}

// NewCmdID builds 'assist id', which prints this user's peer ID (creating
// the identity on first use).
func NewCmdID(io *IO, runF func(context.Context, *IDOptions) error) *cobra.Command {
	opts := &IDOptions{IO: io}
	return &cobra.Command{
		Use:   "id",
		Short: "Print your peer ID (your identity to other assist users)",
		Args:  args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return runID(opts)
		},
	}
}

func runID(opts *IDOptions) error {
	_, id, err := selfID()
	if err != nil {
		return err
	}
	fmt.Fprintln(opts.IO.Out, id)
	return nil
}

// selfID returns the config directory and this user's peer ID, creating
// the identity on first use.
func selfID() (string, peer.ID, error) {
	dir, err := config.Dir()
	if err != nil {
		return "", "", err
	}
	key, err := config.LoadOrCreateIdentity(dir)
	if err != nil {
		return "", "", err
	}
	id, err := peer.IDFromPrivateKey(key)
	return dir, id, err
}
