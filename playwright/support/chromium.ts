/** Debian's Chromium, never a downloaded browser; CHROMIUM_PATH points elsewhere. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

// Playwright adds --headless, --no-sandbox and --enable-unsafe-swiftshader itself; these keep
// Chromium off the (closed) network and expose WebGPU, which is SwiftShader on our machines.
export const CHROMIUM_ARGS = [
	'--disable-quic',
	'--no-first-run',
	'--disable-background-networking',
	'--disable-component-update',
	'--disable-sync',
	'--enable-unsafe-webgpu'
];
