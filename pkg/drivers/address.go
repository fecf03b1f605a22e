/*
Copyright 2026 The nebula-resource Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package drivers

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// target is a parsed member address.
type target struct {
	Scheme string // lower-case scheme, "" when the address had none
	Host   string // without brackets
	Port   int
	// PortSet is true when the address named the port explicitly.
	PortSet bool
	User    string // username from URL userinfo, if any
	Path    string // URL path, if any
	Query   url.Values
}

func (t target) hostPort() string { return net.JoinHostPort(t.Host, strconv.Itoa(t.Port)) }

// parseTarget parses a member address: a URL with one of the schemes
// (defaultPorts gives each scheme's default port), host:port, or a bare host
// (which gets the first scheme's default port). It rejects empty
// addresses, unknown schemes, bad ports and embedded passwords.
func parseTarget(driver, address string, schemes []string, defaultPorts map[string]int) (target, error) {
	addr := strings.TrimSpace(address)
	if addr == "" {
		return target{}, fmt.Errorf("%w: %s: address is empty", ErrInvalidMember, driver)
	}
	if strings.Contains(addr, "://") {
		return parseURLTarget(driver, addr, schemes, defaultPorts)
	}
	if strings.ContainsAny(addr, "/?#@ \t") {
		return target{}, fmt.Errorf("%w: %s: address %q is neither host:port nor a %s:// URL", ErrInvalidMember, driver, addr, schemes[0])
	}
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		// No port: a bare host name, IPv4, bracketed or bare IPv6 literal.
		host = strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]")
		if strings.Contains(host, ":") && net.ParseIP(host) == nil {
			return target{}, fmt.Errorf("%w: %s: cannot parse address %q as host:port", ErrInvalidMember, driver, addr)
		}
		portStr = ""
	}
	t := target{Host: host, Port: defaultPorts[schemes[0]], PortSet: portStr != ""}
	if portStr != "" {
		if t.Port, err = parsePort(portStr); err != nil {
			return target{}, fmt.Errorf("%w: %s: address %q: %v", ErrInvalidMember, driver, addr, err)
		}
	}
	if t.Host == "" {
		return target{}, fmt.Errorf("%w: %s: address %q has no host", ErrInvalidMember, driver, addr)
	}
	if t.Port == 0 {
		return target{}, fmt.Errorf("%w: %s: address %q has no port", ErrInvalidMember, driver, addr)
	}
	return t, nil
}

func parseURLTarget(driver, addr string, schemes []string, defaultPorts map[string]int) (target, error) {
	u, err := url.Parse(addr)
	if err != nil {
		// url.Error quotes the whole input; it may contain a password.
		return target{}, fmt.Errorf("%w: %s: address is not a valid URL", ErrInvalidMember, driver)
	}
	scheme := strings.ToLower(u.Scheme)
	known := false
	for _, s := range schemes {
		known = known || s == scheme
	}
	if !known {
		return target{}, fmt.Errorf("%w: %s: address scheme %q is not one of %s", ErrInvalidMember, driver, u.Scheme, strings.Join(schemes, ", "))
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			return target{}, fmt.Errorf("%w: %s: address must not contain a password (it would be visible in the pool's spec and status); use the pool's credentials", ErrInvalidMember, driver)
		}
	}
	t := target{Scheme: scheme, Host: u.Hostname(), Port: defaultPorts[scheme], Path: u.Path, Query: u.Query()}
	if u.User != nil {
		t.User = u.User.Username()
	}
	if p := u.Port(); p != "" {
		t.PortSet = true
		if t.Port, err = parsePort(p); err != nil {
			return target{}, fmt.Errorf("%w: %s: address %s: %v", ErrInvalidMember, driver, u.Redacted(), err)
		}
	}
	if t.Host == "" {
		return target{}, fmt.Errorf("%w: %s: address %s has no host", ErrInvalidMember, driver, u.Redacted())
	}
	if t.Port == 0 {
		return target{}, fmt.Errorf("%w: %s: address %s has no port", ErrInvalidMember, driver, u.Redacted())
	}
	return t, nil
}

func parsePort(s string) (int, error) {
	p, err := strconv.Atoi(s)
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("port %q is not a number between 1 and 65535", s)
	}
	return p, nil
}

// buildURI renders scheme://[user[:password]@]host:port[path][?query].
// The password is written as "xxxxx" unless reveal is set.
func buildURI(scheme string, t target, c Credentials, reveal bool, path string, query url.Values) string {
	u := url.URL{Scheme: scheme, Host: t.hostPort(), Path: path}
	if len(query) > 0 {
		u.RawQuery = query.Encode()
	}
	switch {
	case c.Username != "" && !c.Password.IsZero():
		pw := "xxxxx"
		if reveal {
			pw = c.Password.Reveal()
		}
		u.User = url.UserPassword(c.Username, pw)
	case c.Username != "":
		u.User = url.User(c.Username)
	case !c.Password.IsZero():
		// A password without user name (redis default user, tokens).
		pw := "xxxxx"
		if reveal {
			pw = c.Password.Reveal()
		}
		u.User = url.UserPassword("", pw)
	}
	return u.String()
}

func parseBool(driver, key, v string) (bool, error) {
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%w: %s: attribute %s=%q is not a boolean", ErrInvalidMember, driver, key, v)
	}
	return b, nil
}
