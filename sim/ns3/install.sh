#!/usr/bin/env bash
# Installs what the ns-3 bridge needs from Debian's packages (ns-3 3.37, ZeroMQ, protobuf), unless
# pkg-config already finds an ns-3 with the wifi module, ZeroMQ and protobuf, and protoc is on PATH.
# Nothing is downloaded from anywhere but the system's package repositories.
set -euo pipefail
modules="ns3-wifi ns3-applications ns3-internet ns3-mobility ns3-network ns3-core libzmq protobuf"
# Debian's ns-3 .pc files name some libraries by absolute path (libgsl.so, libsqlite3.so): those
# come from -dev packages that libns3-dev does not depend on, so they are checked too.
found() {
    command -v pkg-config >/dev/null && command -v protoc >/dev/null && command -v g++ >/dev/null \
        && pkg-config --exists $modules || return 1
    for library in $(pkg-config --libs $modules | tr ' ' '\n' | grep '^/'); do
        [ -e "$library" ] || return 1
    done
}
if found; then
    echo "ns-3 $(pkg-config --modversion ns3-core) found through pkg-config"
    exit 0
fi
packages="ns3 libns3-dev libgsl-dev libsqlite3-dev libzmq3-dev libprotobuf-dev protobuf-compiler pkg-config g++"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
fi
echo "installing $packages"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $packages
found || { echo "ns-3 still not complete after the install (pkg-config $modules)" >&2; exit 1; }
echo "ns-3 $(pkg-config --modversion ns3-core) installed"
