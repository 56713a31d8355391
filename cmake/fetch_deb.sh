#!/usr/bin/env bash
# Download one Debian package with a PRIVATE apt state (never touches the system's apt
# or installs anything), check its sha256 and unpack it into DEST.
# usage: fetch_deb.sh PACKAGE VERSION SHA256|- SUITE DEST WORKDIR
set -euo pipefail
pkg=$1 ver=$2 sha=$3 suite=$4 dest=$5 work=$6
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/etc" "$dest"
echo "deb [arch=amd64] http://deb.debian.org/debian $suite main" > "$work/etc/sources.list"
opts=(-o Dir::Etc::SourceList="$work/etc/sources.list" -o Dir::Etc::SourceParts=/dev/null
      -o Dir::State::Lists="$work/lists" -o Dir::Cache="$work/cache"
      -o Dir::State::Status=/dev/null -o APT::Architecture=amd64 -o Debug::NoLocking=1)
apt-get "${opts[@]}" -qq update >&2
cd "$work"
if ! apt-get "${opts[@]}" -qq download "$pkg=$ver" >&2; then
  echo "fetch_deb: $pkg=$ver gone from $suite, falling back to its current version" >&2
  apt-get "${opts[@]}" -qq download "$pkg" >&2; sha=-
fi
deb=$(ls "$work"/${pkg}_*.deb | head -1)
if [ "$sha" != "-" ]; then
  echo "$sha  $deb" | sha256sum -c --quiet - >&2 || { echo "fetch_deb: sha256 mismatch for $deb (expected $sha)" >&2; exit 3; }
fi
dpkg-deb -x "$deb" "$dest"
echo "$deb"
