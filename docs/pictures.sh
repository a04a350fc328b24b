#!/usr/bin/env bash
# Redraws the README's pictures: `gradjit show --dot`, rendered by Graphviz
# (`apt-get install -y graphviz` for `dot`). Run from anywhere:
#   bash docs/pictures.sh
# GRADJIT may name a built binary instead of `cargo run --release --`.
set -euo pipefail
cd "$(dirname "$0")/.."
read -r -a gradjit <<<"${GRADJIT:-cargo run --quiet --release --}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# the seed program and its gradient, for x of 1024 elements
"${gradjit[@]}" show "y = x*x + 3*x" --wrt x --feed 'x=rand(1024)' --dot "$tmp/seed.dot" >/dev/null

# the benchmark MLP (B4) and its four gradients, for 256 examples
"${gradjit[@]}" show "h = tanh(X @ W1 + b1); o = h @ W2 + b2; loss = mean((o - T)**2)" \
  --wrt W1,b1,W2,b2 --feed 'X=rand(256,32)' --feed 'T=rand(256,1)' \
  --feed 'W1=rand(32,64)' --feed 'b1=rand(64)' --feed 'W2=rand(64,1)' --feed 'b2=rand(1)' \
  --dot "$tmp/mlp.dot" >/dev/null

for name in seed mlp; do
  dot -Tsvg "$tmp/$name.dot" -o "docs/$name.svg"
done
echo "wrote docs/seed.svg docs/mlp.svg"
