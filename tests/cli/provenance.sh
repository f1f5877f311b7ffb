#!/usr/bin/env bash
# Provenance in every file, and a run continued by another executable (docs/reproducibility.md).
# B is a copy of the binary with its git revision rewritten in place: another revision and another
# SHA-256, as a rebuild at another commit gives, without a second build. Checked: the files of a
# run (metrics.h5, checkpoints, summary.yaml, provenance.yaml, coord_check.h5) carry the revision,
# dirty flag, build options, command line, host, ranks, threads and start time, the hash equal to
# sha256sum's; `mutrain inspect` shows them. A resume on B is refused (exit 2, nothing changes)
# unless --allow-binary-change, after which the provenance holds both revisions and both hashes.
# --expect-binary (the scripts of `mutrain submit`) refuses another executable. `mutrain transfer`
# and tools/transfer.py refuse to rank runs of different code together unless
# --allow-mixed-revisions.
source "$(dirname "$0")/common.inc"
rev="$("$MUTRAIN" version | sed -n 's/^mutrain [^ ]* (git \([^,)]*\).*/\1/p')"
[[ -n $rev && $rev != unknown ]] || skip "the binary was not built from a git checkout (revision '$rev')"
other="$(tr '0-9a-f' '1-9a-f0' <<<"$rev")"  # every hex digit moved by one: same length, another
A="$TMP/a/mutrain" B="$TMP/b/mutrain"
mkdir -p "$TMP/a" "$TMP/b" && cp "$MUTRAIN" "$A"
/usr/bin/python3 - "$A" "$B" "$rev" "$other" <<'PY' || skip "the revision text is not once in the binary: cannot make B"
import sys
a, b, rev, other = sys.argv[1:]
data = open(a, "rb").read()
old, new = b"\0" + rev.encode() + b"\0", b"\0" + other.encode() + b"\0"
sys.exit(1) if data.count(old) != 1 else open(b, "wb").write(data.replace(old, new))
PY
chmod +x "$B"
"$B" version | grep -q "^mutrain .* (git $other" || fail "B does not report revision $other: $("$B" version | head -1)"
shaA="$(sha256sum < "$A" | cut -c1-64)" shaB="$(sha256sum < "$B" | cut -c1-64)"
[[ $shaA != "$shaB" ]] || fail "A and B have the same hash"
make_text "$TMP/text"
C="$TMP/good.yaml"
make_config "$C"
cd "$TMP"
unset SLURM_JOB_ID SLURM_ARRAY_JOB_ID SLURM_ARRAY_TASK_ID SLURM_RESTART_COUNT
SET=(--out "$TMP/runs" --set checkpoint.every=2 --set name=p)
run_md5() { (cd "runs/$1" && find . -type f -print0 | sort -z | xargs -0 md5sum; find . | sort) | md5sum; }

"$A" train "$C" "${SET[@]}" > a.log 2>&1 || fail "A: run failed: $(tail -3 a.log)"
# every file of the run: this start's provenance, independent facts (sha256sum, hostname, argv)
/usr/bin/python3 - runs/p "$rev" "$shaA" "$A" "$(hostname)" <<'PY' || fail "provenance of a fresh run is not as expected"
import re, sys, h5py, yaml
run, rev, sha, exe, host = sys.argv[1:]
def check(start, where):
    assert start["git_revision"] == rev, (where, start["git_revision"])
    assert int(start["git_dirty"]) in (0, 1), where
    assert start["binary_sha256"] == sha and start["binary"] == exe, where
    assert start["command_line"].startswith(exe + " train ") and "--set name=p" in start["command_line"], where
    assert start["hosts"] == host and int(start["ranks"]) == 1 and int(start["threads"]) == 1, where
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", start["started"]), where
    for k in ("cuda=", "nccl=", "dnnl=", "mpi=", "compiler="):
        assert k in start["build"], (where, start["build"])
for path in (f"{run}/metrics.h5", f"{run}/checkpoints/step_00000002.h5", f"{run}/checkpoints/step_00000004.h5"):
    with h5py.File(path, "r") as f:
        a = dict(f.attrs)
        check({**a, "ranks": a["world_size"]}, path + " root")
        assert not any(k.startswith("slurm_") for k in a), path
        p = f["provenance"]
        assert list(p["step"][()]) == [0], path
        check({k: (p[k].asstr()[0] if p[k].dtype.kind == "O" else p[k][0]) for k in p if k != "changes"}, path)
for name in ("summary.yaml", "provenance.yaml"):
    y = yaml.safe_load(open(f"{run}/{name}"))
    assert len(y["provenance"]) == 1 and y["config_changes"] == [], name
    check(y["provenance"][0], name)
PY
inspected="$("$A" inspect runs/p/metrics.h5)"
for want in "git_revision +$rev" "binary_sha256 +$shaA" "hosts +$(hostname)" "provenance +1 start" "command_line .* train "; do
  grep -qE "^$want" <<<"$inspected" || fail "inspect does not show '$want'"
done

# B continues the run: refused, nothing changes; allowed: both revisions recorded
before="$(run_md5 p)"
out="$("$B" train "$C" "${SET[@]}" --set train.steps=8 --resume auto 2>&1 >/dev/null)"
rc=$?
[[ $rc == 2 ]] || fail "resume on B: exit $rc, expected 2: $out"
grep -qE "^\[checkpoint\] .*step_00000004\.h5' was written by another mutrain executable: git $rev .*sha256 ${shaA:0:16}.*this one is git $other .*sha256 ${shaB:0:16}.*--allow-binary-change" <<<"$out" \
  || fail "resume on B: unclear message: $out"
[[ "$(run_md5 p)" == "$before" ]] || fail "a refused resume on B changed runs/p"
"$B" train "$C" "${SET[@]}" --set train.steps=8 --resume auto --allow-binary-change > b.log 2>&1 \
  || fail "resume on B with --allow-binary-change failed: $(tail -3 b.log)"
/usr/bin/python3 - runs/p "$rev" "$other" "$shaA" "$shaB" <<'PY' || fail "the provenance does not show both executables"
import sys, h5py, yaml
run, rev, other, sha_a, sha_b = sys.argv[1:]
for path in (f"{run}/metrics.h5", f"{run}/checkpoints/step_00000008.h5"):
    with h5py.File(path, "r") as f:
        p = f["provenance"]
        assert list(p["git_revision"].asstr()[()]) == [rev, other], path
        assert list(p["binary_sha256"].asstr()[()]) == [sha_a, sha_b], path
        assert list(p["binary_change_allowed"][()]) == [0, 1], path
        assert list(p["step"][()]) == [0, 4], path
        assert f.attrs["git_revision"] == other and f.attrs["binary_sha256"] == sha_b, path
y = yaml.safe_load(open(f"{run}/provenance.yaml"))
assert [s["git_revision"] for s in y["provenance"]] == [rev, other]
PY
inspected="$("$A" inspect runs/p/checkpoints/step_00000008.h5)"
grep -qE "^  step 0 .* git $rev .*sha256 ${shaA:0:16}" <<<"$inspected" || fail "inspect does not show the first start"
grep -qE "^  step 4 .* git $other .*sha256 ${shaB:0:16}.*binary change allowed" <<<"$inspected" \
  || fail "inspect does not show the second start: $(grep -A6 '^provenance' <<<"$inspected")"

# --expect-binary: another executable than the one expected is refused before anything is written
expect_exit 2 "^\[provenance\] this job was submitted with the mutrain executable whose sha256 is ${shaA:0:16}.*git $other" -- \
  "$B" train "$C" --out "$TMP/x" --expect-binary "$shaA"
[[ ! -e "$TMP/x" ]] || fail "--expect-binary refused but wrote $TMP/x"
expect_exit 2 "^\[cli\] --expect-binary needs the 64" -- "$A" train "$C" --out "$TMP/x" --expect-binary abc
"$A" train "$C" --out "$TMP/x" --expect-binary "$shaA" > x.log 2>&1 || fail "--expect-binary of A refused A"
"$B" train "$C" --out "$TMP/y" --expect-binary "$shaA" --allow-binary-change > y.log 2>&1 \
  || fail "--expect-binary with --allow-binary-change refused: $(tail -2 y.log)"

# coord_check.h5
"$A" coord-check "$C" --widths 8,16 --steps 1 --out "$TMP/cc" > cc.log 2>&1 || fail "coord-check failed: $(tail -3 cc.log)"
/usr/bin/python3 - "$TMP/cc/tiny-coord-check/coord_check.h5" "$rev" "$shaA" <<'PY' || fail "coord_check.h5 lacks provenance"
import sys, h5py
path, rev, sha = sys.argv[1:]
with h5py.File(path, "r") as f:
    assert f.attrs["git_revision"] == rev and f.attrs["binary_sha256"] == sha
    assert " coord-check " in f.attrs["command_line"] and "compiler=" in f.attrs["build"]
    assert list(f["provenance/git_revision"].asstr()[()]) == [rev]
PY

# transfer: a sweep whose points were trained by A and B is not ranked unless told to
SW=(--grid optimizer.adamw.lr=0.002,0.05 --widths 16,32 --set name=sw --set train.steps=2
    --set checkpoint.every=0 --set stats.every=0)
"$A" sweep "$C" "${SW[@]}" --out "$TMP/sa" > sa.log 2>&1 || fail "sweep on A failed: $(tail -3 sa.log)"
"$B" sweep "$C" "${SW[@]}" --out "$TMP/sb" > sb.log 2>&1 || fail "sweep on B failed: $(tail -3 sb.log)"
cp -r "$TMP/sa/sweeps/sw" "$TMP/mixed"
point="$(ls "$TMP/mixed" | grep width32 | head -1)"
rm -rf "$TMP/mixed/$point" && cp -r "$TMP/sb/sweeps/sw/$point" "$TMP/mixed/$point"
"$A" transfer "$TMP/sa/sweeps/sw" > t0.log 2>&1 || fail "transfer of a sweep of one code failed: $(tail -2 t0.log)"
expect_exit 2 "^\[transfer\] the finished runs were made by different code.*git $rev.*git $other.*--allow-mixed-revisions" -- \
  "$A" transfer "$TMP/mixed"
"$A" transfer "$TMP/mixed" --allow-mixed-revisions > t1.log 2>&1 || fail "transfer --allow-mixed-revisions failed"
PY=/usr/bin/python3
"$PY" "$SRC/tools/transfer.py" "$TMP/sa/sweeps/sw" --out "$TMP/t.png" > p0.log 2>&1 \
  || fail "transfer.py on a sweep of one code failed: $(tail -2 p0.log)"
expect_exit 2 "^transfer\.py: the finished runs were made by different code.*git $rev.*git $other.*--allow-mixed-revisions" -- \
  "$PY" "$SRC/tools/transfer.py" "$TMP/mixed" --out "$TMP/t.png"
"$PY" "$SRC/tools/transfer.py" "$TMP/mixed" --out "$TMP/t.png" --allow-mixed-revisions > p1.log 2>&1 \
  || fail "transfer.py --allow-mixed-revisions failed: $(tail -2 p1.log)"
finish
