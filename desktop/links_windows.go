//go:build windows

package desktop

import (
	"fmt"

	"golang.org/x/sys/windows/registry"

	"assist/internal/wine"
)

// RegisterLinks makes exe the handler of assist:// links for this user:
// the per-user classes in the registry, which need no administrator. A
// link then runs 'assist join LINK' in a console of its own.
func RegisterLinks(exe string) (string, error) {
	const root = `Software\Classes\assist`
	values := []struct{ key, name, value string }{
		{root, "", "URL:assist support link"},
		{root, "URL Protocol", ""},
		{root + `\DefaultIcon`, "", `"` + exe + `",0`},
		{root + `\shell\open\command`, "", `"` + exe + `" join "%1"`},
	}
	hives := []registry.Key{registry.CURRENT_USER}
	if wine.Detected() {
		// Wine's HKEY_CLASSES_ROOT is the machine's classes alone, without
		// the user's merged in as Windows does; Wine asks no administrator.
		hives = append(hives, registry.LOCAL_MACHINE)
	}
	for _, hive := range hives {
		if err := setValues(hive, values); err != nil {
			return "", err
		}
	}
	return `HKEY_CURRENT_USER\` + root, nil
}

func setValues(hive registry.Key, values []struct{ key, name, value string }) error {
	for _, v := range values {
		k, _, err := registry.CreateKey(hive, v.key, registry.SET_VALUE)
		if err == nil {
			err = k.SetStringValue(v.name, v.value)
			k.Close()
		}
		if err != nil {
			return fmt.Errorf(`register assist:// links: %s: %w`, v.key, err)
		}
	}
	return nil
}
