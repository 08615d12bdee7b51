#!/usr/bin/env bash
# Writes the Terraform plan (`cdktf diff`) of each given stack to the job summary, where ops
# review it on the pull request. Fails if any plan fails, after writing what it printed.
# Usage: plan-summary.sh <stack>...
set -uo pipefail
: "${GITHUB_STEP_SUMMARY:?GITHUB_STEP_SUMMARY is not set: this runs inside GitHub Actions}"
failed=0
for stack in "$@"; do
  out="$(mktemp)"
  npx cdktf diff "$stack" --no-color >"$out" 2>&1 || failed=1
  cat "$out"
  {
    echo "### Terraform plan: \`$stack\`"
    echo '```'
    # A job summary holds at most 1 MiB.
    head -c 400000 "$out"
    echo '```'
  } >>"$GITHUB_STEP_SUMMARY"
  rm -f "$out"
done
exit "$failed"
