# shellcheck shell=bash
# load_compose_env FILE: exports the CREWCLAW_*, PUBLIC_URL and RUNTIME_URL values of a compose .env file that the
# environment does not already set, so the scripts agree with `docker compose` (which reads the same file,
# with the environment winning). Only KEY=VALUE lines; surrounding quotes are dropped.
load_compose_env() {
  local file="$1" line key value
  [ -f "$file" ] || return 0
  while IFS= read -r line || [ -n "$line" ]; do
    line="${line#"${line%%[![:space:]]*}"}"
    case "$line" in '' | '#'*) continue ;; esac
    line="${line#export }"
    key="${line%%=*}"
    [ "$key" != "$line" ] || continue
    case "$key" in CREWCLAW_* | PUBLIC_URL | RUNTIME_URL) ;; *) continue ;; esac
    value="${line#*=}"
    if [ "${#value}" -ge 2 ]; then
      case "$value" in
        \"*\" | \'*\') value="${value:1:${#value}-2}" ;;
      esac
    fi
    [ -n "${!key+x}" ] || export "$key=$value"
  done <"$file"
}
