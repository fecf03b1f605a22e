# nebula-resource — see README.md. `make help` lists the targets.

SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec

ROOT            := $(shell pwd)
LOCALBIN        := $(ROOT)/bin
CONTROLLER_GEN  := $(LOCALBIN)/controller-gen
CONTROLLER_TOOLS_VERSION ?= v0.23.0
K8S_VERSION     ?= 1.37.2
ENVTEST_ASSETS  := $(LOCALBIN)/k8s/$(K8S_VERSION)
KUBECTL         := $(ENVTEST_ASSETS)/kubectl
IMG             ?= nebula-resource:dev
HELM            := $(LOCALBIN)/helm
GO_TEST_FLAGS   ?= -race -count=1
# Ginkgo suites print one line per spec with -v; keep CI logs readable.
TEST_TIMEOUT    ?= 30m

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  %-16s %s\n", $$1, $$2 } /^##@/ { printf "\n%s\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: controller-gen ## Generate CRDs and RBAC into config/ from the Go markers.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd webhook paths="./..." output:crd:artifacts:config=config/crd/bases
	@bash hack/helm-sync.sh

.PHONY: generate
generate: controller-gen ## Generate deepcopy code for the API types.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./api/..."

.PHONY: fmt
fmt: ## go fmt the code.
	go fmt ./...

.PHONY: vet
vet: ## go vet the code.
	@# -race: vet type-checks against the same compiled dependencies `make test`
	@# uses, so a cold machine compiles them once for both, not twice.
	go vet -race ./...

.PHONY: tidy-check
tidy-check: ## Fail if go mod tidy, gofmt or generated files would change anything.
	go mod tidy -diff
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

.PHONY: envtest
envtest: ## Build (once) kube-apiserver, etcd and kubectl from the Go module proxy into bin/k8s/.
	@bash hack/setup-envtest.sh >/dev/null

.PHONY: deps
deps: ## Check the system packages (Postgres, redis-server, curl) in seconds; install them as root, else name the command.
	@bash hack/check-deps.sh dev

# dev and test check the system packages before anything is built: their
# prerequisites run in order, even under -j.
.NOTPARALLEL: dev test

.PHONY: test
test: test-deps manifests generate vet envtest helm ## Run all unit and envtest suites with -race against a real API server (Postgres and redis-server: installed as root, see `make deps`).
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" go test $(GO_TEST_FLAGS) -timeout $(TEST_TIMEOUT) ./...
	@# The pool's waiting paths with one P, as a pod with a 1-CPU limit runs them.
	GOMAXPROCS=1 go test -race -count=1 ./pkg/poolruntime/...
	cd test/bench && go vet ./... && go test -count=1 ./...
	cd test/bench/leases && go vet ./... && KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" go test -count=1 ./...
	cd test/bench/scale && go vet -race ./...
	cd hack/image && go vet ./... && go test -count=1 -timeout $(TEST_TIMEOUT) ./...
	@# CoreDNS's dependencies compiled as hack/build-coredns.sh compiles them (static, -trimpath): once, not twice.
	cd hack/coredns && CGO_ENABLED=0 go vet -trimpath ./... && KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" go test -count=1 -timeout $(TEST_TIMEOUT) ./...
	cd hack/promql && go vet ./... && go test -count=1 ./...

.PHONY: test-e2e
test-e2e: envtest build ## Run the end-to-end suite (control plane, manager process, kubectl).
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" CGO_ENABLED=0 go test -trimpath -tags e2e -count=1 -timeout $(TEST_TIMEOUT) ./test/e2e/...

.PHONY: bench
BENCH_ROUNDS ?= 3
bench: ## Side-by-side pool benchmarks (BENCH_ROUNDS interleaved rounds, medians); prints ns/op, CPU, worst waits and ratios.
	cd test/bench && BENCH_ROUNDS=$(BENCH_ROUNDS) go test -run '^$$' -bench . -benchmem -count=1 -timeout 60m . | go run ./cmd/benchtable

.PHONY: bench-leases
bench-leases: envtest ## Lease service vs Boskos (memory and persisted), 1,000 members, 16 clients; prints a table.
	cd test/bench/leases && KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" go test -count=1 -run TestLeaseTable -leases.table -leases.rounds=3 -leases.duration=5s -v -timeout 25m .

.PHONY: bench-scale
bench-scale: envtest ## One manager against 1,000 pools, 1,000 bindings, 2,000 Deployments, 5,000 Pods: Ready time, memory, quiet CPU and writes, change latency (about 10 minutes).
	cd test/bench/scale && KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" CGO_ENABLED=0 go test -count=1 -run TestScale -scale.run -v -timeout 60m .

##@ Build

VERSION         ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT          ?= $(shell git rev-parse HEAD 2>/dev/null)
BUILD_LDFLAGS   := -X github.com/nebula-io/nebula-resource/internal/buildinfo.version=$(VERSION) -X github.com/nebula-io/nebula-resource/internal/buildinfo.commit=$(COMMIT)

.PHONY: build
build: ## Build the manager, nebulactl and kubectl-nebula (the kubectl plugin) into bin/ (static, as in the image).
	@# Static and -trimpath as hack/cluster-images.sh builds them, so the e2e
	@# suite, the images and this share one compiled copy of the dependencies.
	CGO_ENABLED=0 go build -trimpath -ldflags "$(BUILD_LDFLAGS)" -o $(LOCALBIN)/manager ./cmd/manager
	CGO_ENABLED=0 go build -trimpath -ldflags "$(BUILD_LDFLAGS)" -o $(LOCALBIN)/nebulactl ./cmd/nebulactl
	CGO_ENABLED=0 go build -trimpath -ldflags "$(BUILD_LDFLAGS)" -o $(LOCALBIN)/kubectl-nebula ./cmd/kubectl-nebula

.PHONY: plugin-archives
plugin-archives: ## Build the kubectl-nebula archives of a release into bin/krew and write their sha256 into plugins/nebula.yaml.
	bash hack/krew-manifest.sh $(VERSION) $(COMMIT) $(LOCALBIN)/krew

.PHONY: run
run: manifests generate ## Run the manager against the current kubeconfig.
	go run ./cmd/manager --lease-api-insecure

.PHONY: test-deps
test-deps:
	@bash hack/check-deps.sh test

.PHONY: dev
dev: deps build envtest ## Local control plane + CRDs + manager + samples; prints the kubectl commands to look around (needs Go; the rest is installed as root, see `make deps`).
	bash hack/dev.sh

##@ Release

.PHONY: image
image: ## Build the manager image (no Docker): OCI layout bin/image, tarball bin/image.tar, digest printed.
	VERSION=$(VERSION) COMMIT=$(COMMIT) bash hack/build-static.sh $(LOCALBIN)/linux
	cd hack/image && go run . build -manager $(LOCALBIN)/linux/manager -nebulactl $(LOCALBIN)/linux/nebulactl \
		-arch $$(go env GOARCH) -ref $(IMG) -layout $(LOCALBIN)/image -tarball $(LOCALBIN)/image.tar \
		-digest-file $(LOCALBIN)/image.digest

.PHONY: cluster-images
cluster-images: manifests envtest ## Build the test cluster's image tarballs (operator, pause, CoreDNS, workload) and install.yaml into bin/cluster-images.
	bash hack/cluster-images.sh $(LOCALBIN)/cluster-images

.PHONY: cluster-deps
cluster-deps: ## Check (and as root, install) what a node of the test cluster runs: containerd, runc, CNI plugins, iptables, conntrack.
	bash hack/check-deps.sh cluster

.PHONY: cluster-bins
cluster-bins: ## Build (or reuse) what a node runs: kubelet, kube-scheduler, kube-proxy beside the control plane (hack/setup-envtest.sh --node).
	bash hack/setup-envtest.sh --node >/dev/null

.PHONY: cluster
cluster: cluster-deps cluster-bins cluster-images ## Run a one-node cluster on this machine until Ctrl-C (root; docs/cluster.md), then tear it down.
	go run ./hack/cluster -bin-dir $(ENVTEST_ASSETS) -images $(LOCALBIN)/cluster-images

.PHONY: test-cluster
test-cluster: cluster-deps cluster-bins helm cluster-images ## Install the operator (Helm chart, install.yaml) into a one-node cluster on this machine and run the platform team's scenarios as Pods (root).
	go test -tags cluster -count=1 -timeout $(TEST_TIMEOUT) -v ./test/cluster/ -ginkgo.v

.PHONY: image-push
image-push: image ## Push the image to IMG (registry/repo:tag) with your docker/crane login (IMAGE_PUSH_FLAGS=-insecure for HTTP).
	cd hack/image && go run . push -layout $(LOCALBIN)/image -ref $(IMG) $(IMAGE_PUSH_FLAGS)

.PHONY: build-installer
build-installer: manifests image envtest ## Write dist/install.yaml and dist/install-cert-manager.yaml, image pinned by digest.
	bash hack/build-installer.sh "$(IMG)@$$(cat $(LOCALBIN)/image.digest)" dist

.PHONY: helm-sync
helm-sync: ## Copy generated CRDs, RBAC rules and webhook rules from config/ into the Helm chart (make manifests does too).
	bash hack/helm-sync.sh

.PHONY: helm-lint
helm-lint: helm ## helm lint the chart (strict).
	$(HELM) lint --strict charts/nebula-resource

##@ Deployment

.PHONY: install
install: manifests envtest ## Install the CRDs into the cluster of the current kubeconfig.
	$(KUBECTL) apply -k config/crd

.PHONY: uninstall
uninstall: envtest ## Remove the CRDs.
	$(KUBECTL) delete --ignore-not-found -k config/crd

.PHONY: deploy
deploy: build-installer ## Apply dist/install.yaml (push IMG first: make image-push) to the current cluster.
	$(KUBECTL) apply --server-side -f dist/install.yaml

.PHONY: undeploy
undeploy: envtest ## Remove what deploy installed.
	$(KUBECTL) kustomize config/default | $(KUBECTL) delete --ignore-not-found -f -

##@ Tools

.PHONY: helm
helm: ## Build (once) helm from the Go module proxy into bin/.
	@bash hack/setup-helm.sh >/dev/null

.PHONY: controller-gen
controller-gen: $(CONTROLLER_GEN)
$(CONTROLLER_GEN):
	GOBIN=$(LOCALBIN) go install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_TOOLS_VERSION)
