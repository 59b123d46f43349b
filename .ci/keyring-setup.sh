#!/usr/bin/env bash
# Install a real Secret Service (gnome-keyring under dbus) for the one test marked
# `keyring` (tests/cli/test_keyring_real.py). Safe to run again: it installs only what is
# missing. The test starts its own private session with dbus-run-session, so nothing here
# starts a daemon or touches a user's keyring.
set -euo pipefail

missing=()
command -v dbus-run-session >/dev/null 2>&1 || missing+=(dbus)
command -v gnome-keyring-daemon >/dev/null 2>&1 || missing+=(gnome-keyring)
# dbus-x11 provides dbus-launch, which some gnome-keyring builds call.
command -v dbus-launch >/dev/null 2>&1 || missing+=(dbus-x11)

if [ "${#missing[@]}" -eq 0 ]; then
    echo "keyring-setup: dbus and gnome-keyring already installed"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
else
    SUDO=
fi
echo "keyring-setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "keyring-setup: done"
