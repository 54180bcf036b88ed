#!/usr/bin/env bash
# Store a pool config and register the managers of a CSV file.
#
# Usage: ops/init-pool.sh [--skip-existing] CONFIG_JSON MANAGERS_CSV
#
# The Redis URL, password and pool come from LEADROUTER_REDIS_URL,
# LEADROUTER_REDIS_PASSWORD and LEADROUTER_POOL, as for every leadrouter command.
# The leadrouter binary is LEADROUTER_BIN, or `leadrouter` on PATH.
#
# MANAGERS_CSV has the header row of ops/sample/managers.csv:
#   id,team,office,groups,won_value,conversion,deals_won,deals_lost,open_deals,empty_fields
# groups are separated by ";" (none: group default), and empty values are left unset. team
# and office are not used. The file is split on commas, so fields must not be quoted or
# contain commas. Every row is checked first, and a bad row stops the script before anything
# is stored.
#
# The config is stored first (`leadrouter config set` validates it). Each manager is added (or has their groups updated) with `manager add`, then gets their
# CRM numbers with `manager set`, which replaces the open-deal count. With --skip-existing,
# managers already in the pool are left as they are, so running this again (compose runs
# it on every `docker compose up`) does not reset the open counts of a running pool.
set -euo pipefail

EXPECTED_HEADER="id,team,office,groups,won_value,conversion,deals_won,deals_lost,open_deals,empty_fields"

usage() {
    printf 'usage: %s [--skip-existing] CONFIG_JSON MANAGERS_CSV\n' "$0" >&2
    exit 2
}

die() {
    printf 'init-pool: error: %s\n' "$*" >&2
    exit 1
}

skip_existing=0
if [[ ${1:-} == --skip-existing ]]; then
    skip_existing=1
    shift
fi
if (($# != 2)); then
    usage
fi
config_json=$1
managers_csv=$2

LEADROUTER_BIN=${LEADROUTER_BIN:-leadrouter}
if ! command -v "$LEADROUTER_BIN" >/dev/null 2>&1; then
    die "leadrouter binary not found: $LEADROUTER_BIN; put leadrouter on PATH or set LEADROUTER_BIN"
fi
for input_file in "$config_json" "$managers_csv"; do
    if [[ ! -r $input_file ]]; then
        die "file not found or not readable: $input_file; check the path (under compose, the /config mount)"
    fi
done

# A Windows export ends lines with CRLF; strip the CR so the last column parses.
header=$(head -n 1 -- "$managers_csv" | tr -d '\r')
if [[ $header != "$EXPECTED_HEADER" ]]; then
    die "unexpected header in $managers_csv: \"$header\"; expected \"$EXPECTED_HEADER\""
fi

# Check every row before anything is stored, so a bad row changes nothing. The rules are the
# CLI's: manager ids are 1-128 printable ASCII characters without spaces, group names 1-64
# characters of A-Z a-z 0-9 _ . -, and the numbers are what `manager set` accepts.
if ! awk -F, -v file="$managers_csv" -v header="$EXPECTED_HEADER" '
    function fail(message) {
        printf "init-pool: error: %s line %d: %s\n", file, NR, message > "/dev/stderr"
        failed = 1
    }
    BEGIN { split(header, names, ",") }
    NR == 1 { next }
    { sub(/\r$/, "") }
    $0 == "" { next }
    NF != 10 { fail("expected 10 fields, got " NF "; fields must not contain commas"); next }
    length($1) > 128 || $1 !~ /^[!-~]+$/ {
        fail("invalid id \"" $1 "\"; use 1-128 printable ASCII characters without spaces")
    }
    {
        group_count = split($4, groups, ";")
        for (i = 1; i <= group_count; i++) {
            if (length(groups[i]) > 64 || groups[i] !~ /^[A-Za-z0-9_.-]+$/) {
                fail("invalid group \"" groups[i] "\"; use 1-64 characters of A-Z a-z 0-9 _ . -")
            }
        }
        for (column = 5; column <= 8; column++) {
            if ($column != "" && $column !~ /^[0-9]*\.?[0-9]+$/) {
                fail(names[column] " \"" $column "\" is not a number >= 0")
            }
        }
    }
    $9 != "" && $9 !~ /^[0-9]+$/ { fail("open_deals \"" $9 "\" is not a whole number >= 0") }
    $10 != "" && !($10 ~ /^[0-9]*\.?[0-9]+$/ && $10 + 0 <= 1) {
        fail("empty_fields \"" $10 "\" is not a number from 0 to 1")
    }
    END { exit failed }
' "$managers_csv"; then
    die "nothing was changed; fix $managers_csv and run again"
fi

"$LEADROUTER_BIN" config set "$config_json"

existing_ids=""
if ((skip_existing)); then
    # `manager list --json` prints one "id" line per manager.
    existing_ids=$("$LEADROUTER_BIN" manager list --json | sed -n 's/^ *"id" *: *"\([^"]*\)".*/\1/p')
fi

added=0
skipped=0
line_number=1
# The loop reads from file descriptor 3 so that leadrouter does not read the CSV on stdin.
# The metric columns are read through ${!metric} below, which shellcheck cannot see.
# shellcheck disable=SC2034
while IFS=, read -r -u 3 id _ _ groups won_value conversion deals_won deals_lost open_deals empty_fields ||
    [[ -n ${id:-} ]]; do
    line_number=$((line_number + 1))
    empty_fields=${empty_fields%$'\r'}
    if [[ -z $id ]]; then
        continue
    fi
    if ((skip_existing)) && grep -Fxq -- "$id" <<<"$existing_ids"; then
        skipped=$((skipped + 1))
        continue
    fi

    "$LEADROUTER_BIN" manager add "$id" --groups "${groups//;/,}" >/dev/null ||
        die "manager add failed for $id ($managers_csv line $line_number)"

    set_args=()
    if [[ -n $open_deals ]]; then
        set_args+=(--open-deals "$open_deals")
    fi
    if [[ -n $empty_fields ]]; then
        set_args+=(--empty-fields "$empty_fields")
    fi
    for metric in won_value conversion deals_won deals_lost; do
        if [[ -n ${!metric} ]]; then
            set_args+=(--metric "$metric=${!metric}")
        fi
    done
    # A manager without CRM data (a new hire) has nothing to set.
    if ((${#set_args[@]} > 0)); then
        "$LEADROUTER_BIN" manager set "$id" "${set_args[@]}" >/dev/null ||
            die "manager set failed for $id ($managers_csv line $line_number)"
    fi
    added=$((added + 1))
done 3< <(tail -n +2 -- "$managers_csv")

printf 'init-pool: pool %s: %s managers added or updated, %s already present and left as they are\n' \
    "${LEADROUTER_POOL:-default}" "$added" "$skipped"
