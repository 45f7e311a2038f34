#!/usr/bin/env bash
# Fails, naming file:line, when a tracked file cites a document that is not in the repository:
# design notes, reference documents or machine paths that a reader of a clean clone cannot open.
# What the code relies on is written in docs/ (docs/design.md first); cite that, or state the fact.
#
# Usage: scripts/check_standalone.sh [REPO_ROOT]
set -euo pipefail

root=${1:-$(dirname "$0")/..}
cd "$root"
readonly self=scripts/check_standalone.sh

# Case-sensitive: the name of the outside design note.
readonly kExact='\bDESIGN\b'
# Case-insensitive: outside reference documents, their numbered sections (our docs number none),
# and machine paths (a bracket keeps this line from citing a machine path itself).
readonly kAnyCase='reference/|/wor[k]/|shared/|prometheus-adapter\.md|k8s-metrics-contract|aesthetics|peers\.md|contract(.s)? (section|§)|§|\bsections? [0-9]'

search() {  # search GREP_FLAGS PATTERN
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git grep -n -I "$1" -E -e "$2" -- . ":(exclude)$self" || true
  else
    grep -r -n -I "$1" -E -e "$2" --exclude-dir=.git --exclude-dir='build*' . |
      sed 's|^\./||' | grep -v "^$self:" || true
  fi
}

hits=$( { search --no-ignore-case "$kExact"; search -i "$kAnyCase"; } | sort -t: -k1,1 -k2,2n -u)
if [[ -n $hits ]]; then
  printf '%s\n' "$hits" | cut -c1-200
  echo "check-standalone: $(wc -l <<<"$hits") citation(s) of documents outside the repository;" \
       "point them at docs/ or state the fact" >&2
  exit 1
fi
echo "check-standalone: ok"
