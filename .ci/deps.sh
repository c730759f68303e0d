#!/usr/bin/env bash
# Installs the Debian packages Millrace needs to build, run and test.
# Idempotent: asks dpkg first and calls apt only for what is missing, so a
# second run takes a fraction of a second. Uses sudo when not root.
set -euo pipefail

packages=(
  # toolchain
  cmake ninja-build g++ ccache make pkg-config
  # the sandbox's two small programs are linked statically against musl
  musl-tools
  # libraries (headers); see STACK.md for the versions this was verified with
  libcaf-dev libpq-dev rapidjson-dev libspdlog-dev libgtest-dev libssl-dev
  libboost1.74-dev libboost-filesystem1.74-dev libboost-program-options1.74-dev
  libyaml-cpp-dev
  # the programs' allocator (CMakeLists.txt: MILLRACE_JEMALLOC)
  libjemalloc-dev
  # the embedded and test database server
  postgresql-15 postgresql-client-15
  # sandbox and runtimes
  bubblewrap util-linux python3 procps nodejs
  # the cluster's system tests: TLS certificates, a partition (netns, nft)
  openssl iproute2 nftables
  # the HTTP benchmark (tests/bench/http_bench.sh): load generator, client
  wrk curl
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "deps: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "deps: not root and sudo is missing; install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
# Update the package lists only when a package cannot be found in them.
if ! $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/millrace-apt.log 2>&1; then
  $sudo apt-get update -q >>/tmp/millrace-apt.log 2>&1
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >>/tmp/millrace-apt.log 2>&1 || {
    echo "deps: apt-get failed; see /tmp/millrace-apt.log" >&2; tail -20 /tmp/millrace-apt.log >&2; exit 1; }
fi
