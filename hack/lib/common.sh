# shellcheck shell=bash
# Shared helpers for hack/ scripts: logging, failing with a message, the cache directory.
CACHE_DIR=${WARREN_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/warren}
mkdir -p "$CACHE_DIR"
log() { printf '[warren %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
need_cmd() { command -v "$1" >/dev/null 2>&1 || die "'$1' is not installed; $2"; }
