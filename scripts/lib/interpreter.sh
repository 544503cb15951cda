# Sourced by the set-up scripts: `find_python` prints the free-threaded interpreter to use.
# Expects ROOT and CACHE to be set, and `say` / `die` to be defined, by the sourcing script.
# Order: $FTAUDIT_PYTHON, then the path recorded by scripts/provision-python.sh, then provisioning.

find_python() {
  if [ -n "${FTAUDIT_PYTHON:-}" ]; then
    [ -x "$FTAUDIT_PYTHON" ] || die "FTAUDIT_PYTHON=$FTAUDIT_PYTHON is not executable"
    printf '%s\n' "$FTAUDIT_PYTHON"
    return
  fi
  if [ -f "$CACHE/interpreter" ]; then
    local py
    py="$(head -n1 "$CACHE/interpreter")"
    if [ -x "$py" ]; then printf '%s\n' "$py"; return; fi
    say "$CACHE/interpreter names $py, which is gone; provisioning again"
  fi
  say "no interpreter recorded; running scripts/provision-python.sh"
  "$ROOT/scripts/provision-python.sh" | tail -n1
}
