# shellcheck shell=bash
# Puts the project's own Node 24 (the `node` npm package) first on PATH, installing the
# project's dependencies first when they are missing or older than the lock file.
if [[ ! -x node_modules/.bin/node || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "[warren] installing npm dependencies (locked versions)" >&2
  npm install --no-audit --no-fund >&2
fi
# shellcheck source-path=SCRIPTDIR source=path.sh
source "$(dirname "${BASH_SOURCE[0]}")/path.sh"
PATH="$PWD/node_modules/.bin:$PATH"
export PATH
