#!/bin/sh
# Takes one origin out of edge-affinity for a deploy and says when its sessions are gone: the drain
# recipe of the README, for a Kubernetes preStop hook or a deploy script. Needs curl and jq.
#
#   export AFFINITY=https://shop.example.com ADMIN_TOKEN=...
#   scripts/drain-origin.sh drain app-1      # no new sessions; returns once none made a request for IDLE s
#   scripts/drain-origin.sh activate app-1   # takes new sessions again
#
# IDLE: seconds without a request of the origin's sessions that count as drained (default 300).
# POLL: seconds between two looks (default 5). MAX_WAIT: give up, exit 1, after so many seconds
# (default 3600); exit 3 at once when the worker cannot know (its counting is off). The token goes to curl on its standard input, never on a command line (ps shows those).
set -eu

action=${1:-}
origin=${2:-}
api="$AFFINITY/_affinity/origins/$origin"

# curl with the admin token, read from a config on standard input.
admin() {
  printf 'header = "Authorization: Bearer %s"\n' "$ADMIN_TOKEN" | curl --config - -fsS "$@"
}

set_state() {
  admin -X PATCH -H 'content-type: application/json' --data "{\"state\":\"$1\"}" "$api" >/dev/null
}

case $action in
  activate)
    set_state active
    ;;
  drain)
    set_state draining
    deadline=$(($(date +%s) + ${MAX_WAIT:-3600}))
    until answer=$(admin "$api?idle=${IDLE:-300}") && printf '%s' "$answer" | jq -e '.drained == true' >/dev/null; do
      # Counting off: the worker cannot know, and waiting would not change that.
      if unknown=$(printf '%s' "${answer:-}" | jq -er '.drainedUnknown // empty' 2>/dev/null); then
        echo "edge-affinity: cannot tell when $origin is drained: $unknown" >&2
        exit 3
      fi
      if [ "$(date +%s)" -ge "$deadline" ]; then
        echo "edge-affinity: $origin not drained after ${MAX_WAIT:-3600} s" >&2
        exit 1
      fi
      sleep "${POLL:-5}"
    done
    ;;
  *)
    echo "usage: $0 drain|activate <origin-id>" >&2
    exit 2
    ;;
esac
