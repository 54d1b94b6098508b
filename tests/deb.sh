#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Build the Debian package and check it: extract it into a scratch root with dpkg-deb -x and check every
# file, its mode and the package metadata; verify the packaged systemd units with systemd-analyze.
#
# Usage: tests/deb.sh [--release]
#   default:   a debug build with the package's features (`kms`), packaged with cargo deb --no-build
#              --profile dev, which checks the packaging without a slow release build;
#   --release: cargo deb (an optimised build, as shipped).
# The package is built with the cargo feature `kms` ([package.metadata.deb] features), so the build needs
# libudev-dev, libinput-dev and libxkbcommon-dev besides the default build's libfontconfig1-dev.
# Needs cargo-deb (installed with `cargo install cargo-deb --locked` when missing), dpkg-deb and readelf.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
fail() { echo "deb check FAILED: $*" >&2; exit 1; }

if ! cargo deb --version >/dev/null 2>&1; then
    echo "== installing cargo-deb"
    cargo install cargo-deb --locked --quiet
fi
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
deb="$scratch/labelstation.deb"
if [ "${1:-}" = --release ]; then
    cargo deb --locked -o "$deb"
else
    # The features cargo deb would build with: keep in step with [package.metadata.deb] features.
    cargo build --locked --quiet --bin labelstation --features kms
    # cargo-deb maps the asset path target/release/ to the chosen profile's directory.
    cargo deb --no-build --profile dev --fast -o "$deb" 2> "$scratch/deb.log" || {
        cat "$scratch/deb.log" >&2
        fail "cargo deb --no-build --profile dev (if cargo-deb stopped supporting it, run tests/deb.sh --release)"
    }
fi

root="$scratch/root"
dpkg-deb -x "$deb" "$root"
dpkg-deb -e "$deb" "$scratch/control"

# path, mode: every file the package must install.
expect=(
    "usr/bin/labelstation 755"
    "usr/sbin/labelstation-admin 755"
    "lib/systemd/system/labelstation.service 644"
    "lib/systemd/system/labelstation-backup.service 644"
    "lib/systemd/system/labelstation-backup.timer 644"
    "lib/systemd/system/labelstation-kiosk.service 644"
    "lib/systemd/system/labelstation-kms.service 644"
    "lib/udev/rules.d/60-labelstation.rules 644"
    "etc/labelstation/config.toml 640"
    "usr/share/doc/labelstation/labelstation.example.toml 644"
    "usr/share/doc/labelstation/README.md 644"
    "usr/share/doc/labelstation/copyright 644"
    "usr/share/doc/labelstation/kiosk/README.md 644"
)
for e in "${expect[@]}"; do
    set -- $e
    [ -f "$root/$1" ] || fail "missing /$1"
    mode=$(stat -c %a "$root/$1")
    [ "$mode" = "$2" ] || fail "/$1 has mode $mode, expected $2"
done
# Nothing else: a stray file (a ledger, a secret) must never ship.
count=$(find "$root" -type f | wc -l)
[ "$count" -eq "${#expect[@]}" ] || { find "$root" -type f >&2; fail "$count files, expected ${#expect[@]}"; }
# No file in the package is writable by group or others; nothing world-readable under /etc/labelstation
# but the directory itself.
if find "$root" -type f -perm /022 | grep -q .; then fail "group/world-writable files: $(find "$root" -type f -perm /022)"; fi
[ ! -e "$root/var/lib/labelstation" ] || fail "the package must not ship the data dir (postinst creates it 0700)"
[ ! -e "$root/etc/labelstation/registry.env" ] || fail "the package must not ship registry.env"

# Metadata: the config is a conffile; the maintainer scripts parse; they create the user and the data dir.
grep -qx /etc/labelstation/config.toml "$scratch/control/conffiles" || fail "config.toml is not a conffile"
for s in postinst prerm postrm; do
    [ -x "$scratch/control/$s" ] || fail "maintainer script $s missing or not executable"
    sh -n "$scratch/control/$s" || fail "$s: syntax error"
done
grep -q 'adduser --system' "$scratch/control/postinst" || fail "postinst creates no system user"
grep -q 'install -d -m 0700 -o labelstation' "$scratch/control/postinst" || fail "postinst does not create the data dir 0700"
grep -q 'udevadm control --reload-rules' "$scratch/control/postinst" || fail "postinst does not reload udev"
grep -q '^Depends:.*adduser' "$scratch/control/control" || fail "no dependency on adduser"

# The packaged config is the documented example, and the packaged binary accepts it.
cmp -s "$root/etc/labelstation/config.toml" deploy/labelstation.example.toml || fail "packaged config differs from the example"
LABELSTATION_DATA_DIR="$scratch/data" "$root/usr/bin/labelstation" --config "$root/etc/labelstation/config.toml" config show >/dev/null \
    || fail "the packaged binary refuses the packaged config"
"$root/usr/bin/labelstation" --version >/dev/null || fail "the packaged binary does not run"
# The kiosk without a compositor (labelstation-kms.service) works only with Slint's linuxkms backend
# (feature `kms`), which links libinput, libudev and libxkbcommon; the package depends on them.
needed=$(readelf -d "$root/usr/bin/labelstation") || fail "readelf cannot read the packaged binary"
for lib in libinput.so libudev.so libxkbcommon.so; do
    grep -q "NEEDED.*\[$lib" <<<"$needed" || fail "the packaged binary does not link $lib: built without the feature kms?"
done

# The units as packaged pass systemd-analyze verify (the host's units supply the targets they refer to).
if command -v systemd-analyze >/dev/null 2>&1 && [ -d /lib/systemd/system ]; then
    cp -an /lib/systemd/system/. "$root/lib/systemd/system/"
    mkdir -p "$root/usr/bin"
    printf '#!/bin/sh\nexec "$@"\n' > "$root/usr/bin/cage" && chmod 755 "$root/usr/bin/cage"
    out=$(systemd-analyze verify --root="$root" labelstation.service labelstation-backup.service \
        labelstation-backup.timer labelstation-kiosk.service labelstation-kms.service 2>&1) || fail "systemd-analyze verify: $out"
    [ -z "$out" ] || fail "systemd-analyze verify warns: $out"
else
    echo "note: systemd-analyze not available, packaged units not verified (tests/ops_deploy.rs verifies deploy/)"
fi
echo "deb check passed: $(dpkg-deb -f "$deb" Package) $(dpkg-deb -f "$deb" Version), $(du -h "$deb" | cut -f1), ${#expect[@]} files"
