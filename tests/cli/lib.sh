# Shared by the CLI tests (source it after setting $work, the test's scratch folder).
fail() { echo "FAIL $*"; exit 1; }
expect_error() { # expect_error NAME SUBSTRING COMMAND...: exit 2 with one line containing SUBSTRING
  local name=$1 want=$2
  shift 2
  local rc=0
  "$@" > "$work/out.txt" 2> "$work/err.txt" || rc=$?
  [ "$rc" = 2 ] || fail "$name: exit $rc, expected 2: $(cat "$work/err.txt")"
  [ "$(wc -l < "$work/err.txt")" = 1 ] || fail "$name: the error is not one line: $(cat "$work/err.txt")"
  grep -qF -- "$want" "$work/err.txt" || fail "$name: the error lacks \"$want\": $(cat "$work/err.txt")"
}
