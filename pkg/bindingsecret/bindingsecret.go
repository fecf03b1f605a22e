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

// Package bindingsecret is the contract between the operator and the
// workloads it binds: the name of a binding's Secret and the keys it holds
// (each projected as an env variable under the binding's spec.env.prefix).
// The binding controller writes them, the lease API names them in its
// errors, and leaseclient and nebulactl read them; this is their one home.
package bindingsecret

// DefaultPrefix is the env prefix of a binding that sets none.
const DefaultPrefix = "NEBULA_"

// nameSuffix follows the binding's name in its Secret's name.
const nameSuffix = "-nebula-binding"

// Name is the name of binding's Secret, in the binding's namespace.
func Name(binding string) string { return binding + nameSuffix }

// Keys of a binding Secret, before the prefix.
const (
	// LeaseEndpoint is the lease API URL.
	LeaseEndpoint = "LEASE_ENDPOINT"
	// Token authenticates the binding on the lease API.
	Token = "TOKEN"
	// Pool is the pool's "namespace/name".
	Pool = "POOL"
	// Binding is the binding's "namespace/name".
	Binding = "BINDING"
	// Scope is the binding's scope key.
	Scope = "SCOPE"
	// CACert is the PEM CA that verifies the lease API, when the manager knows it.
	CACert = "CA_CERT"

	// Username, Password and CredentialVersion are the pool's credentials
	// as the pool last accepted them.
	Username          = "USERNAME"
	Password          = "PASSWORD"
	CredentialVersion = "CREDENTIAL_VERSION"

	// Static bindings only: the first held lease's member, address and id,
	// and every held member and address, comma-separated.
	Member    = "MEMBER"
	Host      = "HOST"
	Port      = "PORT"
	URI       = "URI"
	LeaseID   = "LEASE_ID"
	Members   = "MEMBERS"
	Addresses = "ADDRESSES"
)

// Credentials are the keys that carry the pool's credentials, kept together
// while the pool has not accepted a new version.
var Credentials = []string{Username, Password, CredentialVersion}
