#!/usr/bin/env bash
# Re-vendor Apache ECharts from npm into src/chengyun/web/static/vendor/echarts/: the minified build
# (which carries the dark theme), its LICENSE and NOTICE. The pages load it from /static/vendor/echarts/;
# nothing is fetched at run time. Pinned: change ECHARTS_VERSION to upgrade, rerun, and commit the result.
set -euo pipefail
ECHARTS_VERSION="${ECHARTS_VERSION:-6.1.0}"
cd "$(dirname "$0")/.."
dest=src/chengyun/web/static/vendor/echarts
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "echarts@${ECHARTS_VERSION}" >/dev/null && tar -xzf echarts-*.tgz)
mkdir -p "$dest"
cp "$tmp/package/dist/echarts.min.js" "$dest/echarts.min.js"
cp "$tmp/package/LICENSE" "$dest/LICENSE"
cp "$tmp/package/NOTICE" "$dest/NOTICE"
echo "Apache ECharts $ECHARTS_VERSION vendored into $dest"
