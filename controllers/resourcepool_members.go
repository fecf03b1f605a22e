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

package controllers

import (
	"fmt"
	"net"
	"net/url"
	"strings"

	resourcesv1alpha1 "github.com/nebula-io/nebula-resource/api/v1alpha1"
)

// duplicateMember is a member whose address names the same backend as an
// earlier member's: it is left out of the live pool, so that backend's
// capacity counts once. The schema refuses addresses written the same way;
// this catches the same backend spelled differently (host name case, a
// rooted name's trailing dot), which its cost budget cannot afford to check.
type duplicateMember struct {
	name, address string
	sameAs        string // the earlier member's name
}

// duplicateMembers returns the members that repeat an earlier member's backend.
func duplicateMembers(pool *resourcesv1alpha1.ResourcePool) []duplicateMember {
	seen := map[string]string{}
	var dups []duplicateMember
	for _, m := range pool.Spec.Members {
		key := backendKey(pool.Spec.Driver, m.Address)
		if first, ok := seen[key]; ok {
			dups = append(dups, duplicateMember{name: m.Name, address: m.Address, sameAs: first})
			continue
		}
		seen[key] = m.Name
	}
	return dups
}

// backendKey normalizes an address to the backend it names: host names
// compare case-insensitively and without a trailing dot; URL paths keep
// their case. An address that does not parse is its own key.
func backendKey(driver resourcesv1alpha1.Driver, address string) string {
	host := func(h string) string { return strings.TrimSuffix(strings.ToLower(h), ".") }
	if driver == resourcesv1alpha1.DriverHTTP {
		u, err := url.Parse(address)
		if err != nil {
			return address
		}
		return strings.ToLower(u.Scheme) + "://" + net.JoinHostPort(host(u.Hostname()), u.Port()) + u.EscapedPath() + "?" + u.RawQuery
	}
	h, port, err := net.SplitHostPort(address)
	if err != nil {
		return address
	}
	return net.JoinHostPort(host(h), port)
}

// duplicateMembersMessage names each repeated member and the one it repeats.
func duplicateMembersMessage(dups []duplicateMember) string {
	parts := make([]string, len(dups))
	for i, d := range dups {
		parts[i] = fmt.Sprintf("%s (%s) is the same backend as %s", d.name, d.address, d.sameAs)
	}
	return "Members " + strings.Join(parts, "; ") + ": its capacity counts once; remove the repeated member."
}
