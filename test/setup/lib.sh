# Helpers shared by the test setup scripts (sourced; the caller sets $root and $tools).
die() { echo "test setup: $*" >&2; exit 1; }

# go_tool NAME MODULE_PATH PACKAGE VERSION [LDFLAGS]: builds one binary in a scratch module (go
# install's deprecation lookup is refused by the proxy for some modules; go get + go build is not).
# LDFLAGS stamp what a release build's Makefile would (a change of them rebuilds).
go_tool() {
  local name=$1 module=$2 pkg=$3 version=$4 ldflags=${5:-}
  local stamp="$tools/.$name-$version"
  [ -n "$ldflags" ] && stamp="$stamp-$(printf '%s' "$ldflags" | sha256sum | cut -c1-8)"
  # ferretdb builds stamped without "-patched" panicked at start (see below): rebuild those.
  [ "$name" = ferretdb ] && stamp="$stamp-patched"
  [ -x "$tools/$name" ] && [ -f "$stamp" ] && return 0
  command -v go >/dev/null 2>&1 || die "go is required to build $name"
  echo "test setup: building $name $version (first run only)" >&2
  local work
  work=$(mktemp -d)
  (
    cd "$work"
    go mod init "tools-$name" >/dev/null 2>&1
    go get "$pkg@$version" >/dev/null 2>&1 || go get "$module@$version" >/dev/null
    if [ "$name" = ferretdb ]; then
      # FerretDB reads its version from build/version/version.txt, which release builds generate
      # and the module zip lacks (the binary panics at start without it): build a patched copy.
      local src
      src=$(go list -m -f '{{.Dir}}' "$module")
      cp -r "$src" ./src && chmod -R u+w ./src
      echo "$version" > ./src/build/version/version.txt
      go mod edit -replace "$module=./src"
    fi
    CGO_ENABLED=0 go build -ldflags "$ldflags" -o "$tools/$name" "$pkg"
    if [ "$name" = ferretdb ]; then "$tools/$name" --version >/dev/null || { rm -f "$tools/$name"; exit 1; }; fi
  ) || { rm -rf "$work"; die "could not build $name $version from the Go module proxy"; }
  rm -rf "$work"
  touch "$stamp"
}
