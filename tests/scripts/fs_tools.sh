#!/bin/sh
# File tools over the sandbox's file systems: tar czf / xzf, diff -r, cp -a,
# mv across mounts, find and du. $1 and $2 are two scratch directories on
# different file systems (in the sandbox: its tmpfs and its overlay root).
# Prints only facts that do not depend on the directories' names.
set -u
A=$1
B=$2
mkdir -p "$A" "$B"
tar czf "$A/doc.tgz" -C /usr/share doc 2>/dev/null; echo "tar to A: $?"
tar czf "$B/doc.tgz" -C /usr/share doc 2>/dev/null; echo "tar to B: $?"
mkdir "$A/x" "$B/y"
tar xzf "$B/doc.tgz" -C "$A/x"; echo "extract B's archive in A: $?"
tar xzf "$A/doc.tgz" -C "$B/y"; echo "extract A's archive in B: $?"
diff -r "$A/x/doc" "$B/y/doc" >/dev/null 2>&1; echo "diff -r the two copies: $?"
echo "diff -r against the original: $(diff -r /usr/share/doc "$A/x/doc" 2>&1 | wc -l) lines"
cp -a "$A/x/doc" "$B/cpa"; echo "cp -a: $?"
diff -r "$A/x/doc" "$B/cpa" >/dev/null 2>&1; echo "diff -r after cp -a: $?"
mv "$B/cpa" "$A/moved"; echo "mv across mounts: $?"
diff -r "$A/x/doc" "$A/moved" >/dev/null 2>&1; echo "diff -r after mv: $?"
echo "find: $(find "$A/moved" | wc -l) entries, $(find "$A/moved" -type l | wc -l) symlinks"
# (Directory sizes differ between file systems: count files only.)
echo "file bytes: $(find "$A/moved" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')"
echo "du of the original: $(du -s /usr/share/doc | cut -f1)"
echo "modes kept: $(cd "$A/moved" && find . -printf '%m %y %p\n' | sort | md5sum | cut -c1-8)"
echo "times kept: $(cd "$A/moved" && find . ! -type l -printf '%T@ %p\n' | sort | md5sum | cut -c1-8)"
