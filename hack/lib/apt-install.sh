#!/usr/bin/env bash
# Installs Debian packages that are not installed yet (apt-get update once per run, only if needed).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=path.sh
source "$(dirname "$0")/path.sh"
missing=()
for pkg in "$@"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
echo "[warren] apt-get install ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
