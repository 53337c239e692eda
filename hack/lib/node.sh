# shellcheck shell=bash
# Puts the project's own Node 24 (the `node` npm package) first on PATH, installing the
# project's dependencies first when they are missing or older than the lock file.
#
# npm runs under that same Node. Run by an older system Node (20, say), npm would print an
# EBADENGINE warning for each package that needs 22 or 24 (this project, vitest, execa, undici)
# although none of them ever runs on it; so on a first install the locked Node is fetched into
# the cache once and put first on PATH for npm. npm's own output is left whole: errors still show.
#
# `npm install`, not `npm ci`: the registry here lacks biome's other-platform packages, which
# npm ci insists on finding in the lock file; npm install still installs the locked versions.
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
# shellcheck source-path=SCRIPTDIR source=fetch-node.sh
source "$(dirname "${BASH_SOURCE[0]}")/fetch-node.sh"

# npm_node_dir: prints a directory whose `node` is the locked version, the installed one if it is.
npm_node_dir() {
  local want
  want=$(node -p 'require("./package-lock.json").packages["node_modules/node"].version') ||
    die "package-lock.json has no entry node_modules/node (the project's Node)"
  if [[ -x node_modules/.bin/node && $(node_modules/.bin/node --version) == "v$want" ]]; then
    echo "$PWD/node_modules/.bin"
  elif [[ $(node --version) == "v$want" ]]; then
    dirname "$(command -v node)"
  else
    fetch_node "$want"
  fi
}

if [[ ! -x node_modules/.bin/node || package-lock.json -nt node_modules/.package-lock.json ]]; then
  warren_npm_dir=$(npm_node_dir) || return 1
  log "installing npm dependencies (locked versions; about a minute the first time)"
  warren_npm_start=$SECONDS
  PATH="$warren_npm_dir:$PATH" npm install --no-audit --no-fund --no-update-notifier >&2 || return 1
  log "installed npm dependencies in $((SECONDS - warren_npm_start)) s"
  unset warren_npm_dir warren_npm_start
fi
# shellcheck source-path=SCRIPTDIR source=path.sh
source "$(dirname "${BASH_SOURCE[0]}")/path.sh"
PATH="$PWD/node_modules/.bin:$PATH"
export PATH
