package cmd

import "strings"

// glyphs is a 5-row block font for the characters of a code, so a support
// key is big enough to read out from across a desk.
var glyphs = map[rune][5]string{
	'0': {"███", "█ █", "█ █", "█ █", "███"},
	'1': {" █ ", "██ ", " █ ", " █ ", "███"},
	'2': {"███", "  █", "███", "█  ", "███"},
	'3': {"███", "  █", "███", "  █", "███"},
	'4': {"█ █", "█ █", "███", "  █", "  █"},
	'5': {"███", "█  ", "███", "  █", "███"},
	'6': {"███", "█  ", "███", "█ █", "███"},
	'7': {"███", "  █", "  █", "  █", "  █"},
	'8': {"███", "█ █", "███", "█ █", "███"},
	'9': {"███", "█ █", "███", "  █", "███"},
	'-': {"   ", "   ", "██ ", "   ", "   "},
}

// banner renders s in the block font, indented.
func banner(s string) string {
	var rows [5]strings.Builder
	for _, r := range s {
		g, ok := glyphs[r]
		if !ok {
			continue
		}
		for i := range rows {
			rows[i].WriteString(g[i])
			rows[i].WriteString(" ")
		}
	}
	var b strings.Builder
	for i := range rows {
		b.WriteString("    ")
		b.WriteString(strings.TrimRight(rows[i].String(), " "))
		b.WriteString("\n")
	}
	return b.String()
}
