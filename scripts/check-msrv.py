#!/usr/bin/env python3
"""Checks that the workspace's stated rust-version is at least what every dependency
(with all features) declares, and that the toolchain in use satisfies it."""
import json
import subprocess
import sys


def parse(v):
    return tuple(int(x) for x in (v.split("-")[0].split(".") + ["0", "0"])[:3])


meta = json.loads(subprocess.check_output(
    ["cargo", "metadata", "--format-version", "1", "--all-features", "--locked"]))
members = set(meta["workspace_members"])
ours = {p["rust_version"] for p in meta["packages"] if p["id"] in members}
if len(ours) != 1 or None in ours:
    sys.exit(f"every workspace crate must state the same rust-version, got {ours}")
stated = ours.pop()
resolved = {n["id"] for n in meta["resolve"]["nodes"]}
worst = max(((parse(p["rust_version"]), p["name"], p["rust_version"])
             for p in meta["packages"]
             if p["id"] in resolved and p["id"] not in members and p.get("rust_version")),
            default=((0, 0, 0), "-", "-"))
if worst[0] > parse(stated):
    sys.exit(f"rust-version {stated} is older than {worst[1]}'s {worst[2]}: raise it")
rustc = subprocess.check_output(["rustc", "--version"], text=True).split()[1]
if parse(rustc) < parse(stated):
    sys.exit(f"rustc {rustc} is older than the stated rust-version {stated}")
print(f"rust-version {stated}: satisfies every dependency (highest: {worst[1]} {worst[2]}); rustc {rustc}")
