# shellcheck shell=bash
# The system tools the bed and apt run (rpcbind, ip, ldconfig, start-stop-daemon) live in sbin
# directories, which a non-login environment (CI's among them) may leave off PATH.
for dir in /usr/local/sbin /usr/sbin /sbin; do
  case ":$PATH:" in
    *":$dir:"*) ;;
    *) PATH="$PATH:$dir" ;;
  esac
done
export PATH
