#!/usr/bin/env bash
# build_once: the cache-by-version step of hack/tools.sh (sourced; needs hack/lib/common.sh).
# build_once NAME DIR CMD...: runs CMD in a scratch dir unless DIR/.complete exists; the
# marker is written last, so a half-finished build is detected and redone.
build_once() {
  local name=$1 dir=$2; shift 2
  if [[ -f $dir/.complete ]]; then return 0; fi
  # Go is needed only to build; a warm cache runs without it. /usr/local/go/bin is where the
  # machine's Go lives, which a non-login environment may leave off PATH.
  command -v go >/dev/null 2>&1 || PATH="$PATH:/usr/local/go/bin"
  need_cmd go "this machine should come with Go >= 1.24 (the Kubernetes, etcd and csi-sanity builds need it)"
  rm -rf "$dir"; mkdir -p "$dir/src"
  log "building $name into $dir (first run only; this takes minutes)"
  local start=$SECONDS
  # The ticker takes its sleep down with it, so no stray sleep holds the caller's output open.
  ( trap 'kill $! 2>/dev/null; exit 0' TERM
    while sleep 30 & wait $!; do log "  still building $name: $((SECONDS - start)) s"; done ) &
  local ticker=$!
  # The builder runs outside any condition (`if ! (…)` would switch errexit off inside it), so the
  # first failing command of a builder fails the build, not only its last one.
  local status=0
  set +e
  ( set -e; cd "$dir/src"; "$@" ) >"$dir/build.log" 2>&1
  status=$?
  set -e
  if [[ $status -ne 0 ]]; then
    kill "$ticker" 2>/dev/null || true
    tail -n 30 "$dir/build.log" >&2
    die "building $name failed; full log: $dir/build.log"
  fi
  kill "$ticker" 2>/dev/null || true
  rm -rf "$dir/src"
  touch "$dir/.complete"
  log "built $name in $((SECONDS - start)) s"
}
