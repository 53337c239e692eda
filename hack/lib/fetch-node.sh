# shellcheck shell=bash
# fetch_node VERSION: prints the bin directory of Node VERSION for this machine, fetched once into
# the cache from the npm registry's node-<os>-<arch> package (the one the `node` package installs,
# taken directly: no install script runs). Needs common.sh; the system `node`, any version, only
# names the platform.
fetch_node() {
  local want=$1 platform dir tmp start
  platform=$(node -p 'process.platform + "-" + process.arch')
  dir=$CACHE_DIR/node-v$want-$platform
  if [[ ! -x $dir/bin/node ]]; then
    log "fetching Node v$want into $dir (first run only, about 10 s)"
    start=$SECONDS
    tmp=$(mktemp -d "$CACHE_DIR/.node-fetch.XXXXXX")
    if ! (cd "$tmp" && npm pack --loglevel=error --no-update-notifier "node-$platform@$want" >/dev/null &&
      tar xzf "node-$platform-$want.tgz" package/bin/node package/LICENSE); then
      rm -rf "$tmp"
      die "could not fetch node-$platform@$want from the npm registry (npm's message is above)"
    fi
    # Renamed into place whole, so a half-done fetch is never taken for a Node; when a concurrent
    # fetch got there first, it stays and this copy goes.
    mv -T "$tmp/package" "$dir" 2>/dev/null || true
    rm -rf "$tmp"
    [[ -x $dir/bin/node ]] || die "fetched node-$platform@$want but $dir/bin/node is missing"
    log "fetched Node v$want in $((SECONDS - start)) s"
  fi
  echo "$dir/bin"
}
