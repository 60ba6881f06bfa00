#!/usr/bin/env bash
# Build-time cost of #[secured]: generates two copies of a crate with N axum handlers
# (N=200 by default), one with #[secured] on every handler and one without, and times
# rebuilding just that crate (dependencies already built) in debug and release.
#
#   bash macros/bench/build_time.sh [N] [RUNS]
#
# Prints one line per profile: medians of RUNS rebuilds (wall and CPU time) and ratios.
set -euo pipefail

N="${1:-200}"
RUNS="${2:-3}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
WORK="${BENCH_DIR:-$ROOT/target/centurion-bench}"
export CARGO_TARGET_DIR="$WORK/target"

generate() { # $1 = crate dir, $2 = "secured" or "plain"
    local dir="$1" variant="$2"
    mkdir -p "$dir/src"
    cat > "$dir/Cargo.toml" <<TOML
[package]
name = "bench-$variant"
version = "0.0.0"
edition = "2024"
publish = false

[workspace]

[dependencies]
centurion = { path = "$ROOT/runtime" }
axum = { version = "0.8.9", default-features = false, features = ["json", "tokio", "http1"] }
serde_json = "1"
TOML
    cp "$ROOT/Cargo.lock" "$dir/Cargo.lock"
    {
        echo '#![allow(dead_code, unused_imports)]'
        echo 'use axum::{Json, Router, extract::Path, routing::{get, post}};'
        echo 'use centurion::{Claims, Role, secured, testing::TestUser};'
        echo '#[derive(Role)] enum AppRole { Admin, Editor, Author }'
        for ((i = 0; i < N; i++)); do
            if [[ "$variant" == secured ]]; then
                case $((i % 5)) in
                    0) echo '#[secured]' ;;
                    1) echo '#[secured(roles = "admin")]' ;;
                    2) echo '#[secured(any_of = "editor, author")]' ;;
                    3) echo '#[secured(roles = "admin", any_of = "editor, author", fresh)]' ;;
                    4) echo '#[secured(optional)]' ;;
                esac
            fi
            if ((i % 2 == 0)); then
                echo "async fn handler_$i(claims: Option<Claims>, Path(id): Path<u32>) -> String { format!(\"{id} {}\", claims.is_some()) }"
            else
                echo "async fn handler_$i(Json(body): Json<serde_json::Value>) -> Json<serde_json::Value> { Json(body) }"
            fi
        done
        echo 'pub fn app() -> Router {'
        echo '    Router::new()'
        for ((i = 0; i < N; i++)); do
            if ((i % 2 == 0)); then
                echo "        .route(\"/h$i/{id}\", get(handler_$i))"
            else
                echo "        .route(\"/h$i\", post(handler_$i))"
            fi
        done
        echo '}'
        echo 'fn main() { let _ = app(); }'
    } > "$dir/src/main.rs"
}

median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

# Prints "WALL CPU": the medians over RUNS rebuilds of the wall-clock time and of the CPU
# time (user + system) of the build. CPU time is the steadier figure on a busy machine.
time_rebuild() { # $1 = crate dir, $2 = cargo profile flag ("" or "--release")
    local dir="$1" profile="$2" walls=() cpus=() out
    (cd "$dir" && cargo build --quiet $profile 2>/dev/null) # dependencies, not timed
    for ((r = 0; r < RUNS; r++)); do
        touch "$dir/src/main.rs"
        out=$( { TIMEFORMAT='%R %U %S'; time (cd "$dir" && cargo build --quiet $profile 2>/dev/null); } 2>&1 )
        walls+=("$(awk '{ print $1 }' <<<"$out")")
        cpus+=("$(awk '{ print $2 + $3 }' <<<"$out")")
    done
    echo "$(printf '%s\n' "${walls[@]}" | median) $(printf '%s\n' "${cpus[@]}" | median)"
}

generate "$WORK/plain" plain
generate "$WORK/secured" secured

for profile in debug release; do
    flag=""
    [[ "$profile" == release ]] && flag="--release"
    read -r plain_wall plain_cpu <<<"$(time_rebuild "$WORK/plain" "$flag")"
    read -r secured_wall secured_cpu <<<"$(time_rebuild "$WORK/secured" "$flag")"
    awk -v p="$profile" -v n="$N" -v pw="$plain_wall" -v pc="$plain_cpu" \
        -v sw="$secured_wall" -v sc="$secured_cpu" 'BEGIN {
        printf "%-7s %d handlers: plain %.2fs wall / %.2fs CPU, #[secured] %.2fs wall / %.2fs CPU, ratio %.2f wall / %.2f CPU\n",
            p, n, pw, pc, sw, sc, sw / pw, sc / pc
    }'
done
