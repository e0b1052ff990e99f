#!/usr/bin/env bash
# System packages the tests need: Debian's Chromium (Playwright drives it through
# executablePath; nothing downloads a browser) and Fashion-MNIST. Idempotent and quiet when
# everything is present.
set -euo pipefail
need=()
[[ -x /usr/bin/chromium ]] || need+=(chromium)
[[ -f /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ]] || need+=(dataset-fashion-mnist)
[[ ${#need[@]} -eq 0 ]] && exit 0
if [[ $(id -u) -ne 0 ]]; then
	echo "missing Debian packages: ${need[*]} (run: sudo apt-get install -y ${need[*]})" >&2
	exit 1
fi
echo "installing Debian packages: ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${need[@]}" >/dev/null
