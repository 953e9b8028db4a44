// Command assist is a peer-to-peer remote-support tool.
package main

import (
	"os"

	"assist/cmd"
)

func main() { os.Exit(cmd.Main(os.Args[1:], cmd.StdIO())) }
