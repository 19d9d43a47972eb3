#!/usr/bin/env bash
# Checks ndjit's .deb without installing it system-wide, then unpacks it:
#   check_deb.sh PATH.deb ROOT
# - control fields: package, version, architecture, Depends; shlibs, and
#   ldconfig after install;
# - contents: the CLI, the versioned libraries, headers, CMake package and
#   ndjit.pc, nothing outside /usr;
# - Depends names the Debian package of every shared library that a binary
#   in the package needs (DT_NEEDED) and the package does not ship itself;
# - lintian's errors, when lintian is installed.
set -euo pipefail
deb=$1
root=$2
fail() { echo "check_deb: $*" >&2; exit 1; }

field() { dpkg-deb --field "$deb" "$1"; }
[ "$(field Package)" = ndjit ] || fail "Package is '$(field Package)'"
[ "$(field Architecture)" = amd64 ] || fail "Architecture is '$(field Architecture)'"
version=$(field Version)
case "$(basename "$deb")" in ndjit_"$version"_amd64.deb) ;; *) fail "file name vs version $version" ;; esac
depends=$(field Depends)
# The package names Depends lists, versions and alternatives aside.
depends_names=$(sed 's/([^)]*)//g; s/|/,/g' <<< "$depends" | tr ',' '\n' | awk 'NF {print $1}')
# (Pipes end in a full read, never grep -q: an early exit would kill the
# writer with SIGPIPE, which pipefail turns into a failure.)
control=$(dpkg-deb --ctrl-tarfile "$deb" | tar -t)
grep -qx './shlibs' <<< "$control" || fail "no shlibs control file"
postinst=$(dpkg-deb --info "$deb" postinst)
grep -q ldconfig <<< "$postinst" || fail "postinst does not run ldconfig"

contents=$(dpkg-deb --contents "$deb" | awk '{print $6}')
for f in ./usr/bin/ndjit ./usr/include/ndjit/ndjit.h ./usr/include/ndjit/version.h \
         ./usr/lib/cmake/ndjit/ndjitConfig.cmake ./usr/lib/cmake/ndjit/ndjitConfigVersion.cmake \
         ./usr/lib/cmake/ndjit/ndjitTargets.cmake ./usr/lib/pkgconfig/ndjit.pc; do
  grep -qx "$f" <<< "$contents" || fail "$f is not in the package"
done
grep -qE '^\./usr/lib/libndjit\.so\.[0-9]+\.[0-9]+' <<< "$contents" || fail "no versioned libndjit.so"
if grep -vE '^\./($|usr/)' <<< "$contents"; then fail "files outside /usr (above)"; fi

rm -rf "$root"
dpkg-deb -x "$deb" "$root"
shipped=$(find "$root" -name '*.so*' -printf '%f\n')
missing=""
while read -r elf; do
  for lib in $(readelf -d "$elf" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'); do
    grep -qx "$lib" <<< "$shipped" && continue
    path=$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64/ && !found {print $NF; found = 1}')
    [ -n "$path" ] || fail "$elf needs $lib, which this machine does not have"
    # dpkg knows a file by the path its package shipped it under: /lib or
    # /usr/lib (merged /usr), through a symlink or not.
    pkg=""
    real=$(readlink -f "$path")
    for p in "$path" "$real" "${real#/usr}" "/usr$path"; do
      pkg=$(dpkg -S "$p" 2>/dev/null | awk -F: 'NR == 1 {print $1}') || true
      [ -n "$pkg" ] && break
    done
    [ -n "$pkg" ] || fail "no Debian package owns $path ($lib, needed by $elf)"
    grep -qxF "$pkg" <<< "$depends_names" || missing="$missing $pkg($lib)"
  done
done < <(find "$root" -type f \( -name '*.so*' -o -path '*/bin/*' \))
[ -z "$missing" ] || fail "Depends ($depends) lacks: $(tr ' ' '\n' <<< "$missing" | sort -u | xargs)"

if command -v lintian > /dev/null; then
  lintian --fail-on error "$deb" || fail "lintian reports errors"
fi
echo "check_deb: $(basename "$deb") ok (Depends: $depends)"
