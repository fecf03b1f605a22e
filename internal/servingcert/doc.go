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

// Package servingcert gives the manager's TLS servers (lease API, workload
// webhook) their serving certificate, and the controllers the CA that
// workloads verify the lease API with. The certificate comes from files that
// something else keeps current (cert-manager's Secret mounted into a cert
// dir: Files) or straight from the Secret the manager's own certificate
// rotator writes (Secret). Either way a rotated certificate is served to new
// connections without a restart, and a changed CA is announced on Changed.
package servingcert
