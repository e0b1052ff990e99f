#!/usr/bin/env bash
# System packages the tests need: Debian's Chromium (Playwright drives it through
# executablePath; nothing downloads a browser), Fashion-MNIST and redis-server (the
# multi-instance spec starts its own Redis; nothing is started at install). The example CSVs
# (`npm run examples`) come from python3-sklearn and python3-statsmodels, which are only
# downloaded (`apt-get download`, not installed): apt has to know them, so the package lists
# are refreshed when it does not. Idempotent and quiet when everything is present.
set -euo pipefail
need=()
[[ -x /usr/bin/chromium ]] || need+=(chromium)
[[ -f /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ]] || need+=(dataset-fashion-mnist)
[[ -x /usr/bin/redis-server ]] || need+=(redis-server)
example_sources=(python3-sklearn python3-statsmodels)
lists_stale=0
apt-cache show "${example_sources[@]}" >/dev/null 2>&1 || lists_stale=1
[[ ${#need[@]} -eq 0 && $lists_stale -eq 0 ]] && exit 0
if [[ $(id -u) -ne 0 ]]; then
	[[ ${#need[@]} -gt 0 ]] && echo "missing Debian packages: ${need[*]} (run: sudo apt-get install -y ${need[*]})" >&2
	[[ $lists_stale -eq 1 ]] && echo "apt does not know ${example_sources[*]} (run: sudo apt-get update)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
[[ ${#need[@]} -eq 0 ]] && exit 0
echo "installing Debian packages: ${need[*]}" >&2
apt-get install -y -qq "${need[@]}" >/dev/null
