import { existsSync } from 'node:fs';
import { defineConfig, devices } from '@playwright/test';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FIREFOX = process.env.FIREFOX_PATH ?? '';

// Debian's Chromium, never a downloaded browser. Playwright adds --headless, --no-sandbox and
// --enable-unsafe-swiftshader itself; these keep it off the (closed) network.
export const chromiumArgs = [
	'--disable-quic',
	'--no-first-run',
	'--disable-background-networking',
	'--disable-component-update',
	'--disable-sync',
	'--enable-unsafe-webgpu'
];

export default defineConfig({
	testDir: './playwright',
	testMatch: '**/*.spec.ts',
	fullyParallel: false,
	workers: 1,
	timeout: 8 * 60_000,
	expect: { timeout: 30_000 },
	reporter: [['list']],
	use: { trace: 'retain-on-failure' },
	projects: [
		{
			name: 'chromium',
			use: { ...devices['Desktop Chrome'], launchOptions: { executablePath: CHROMIUM, args: chromiumArgs } }
		},
		// Playwright drives only its own patched Firefox and WebKit builds, which cannot be
		// downloaded here; these projects run where such a build is installed and named.
		...(FIREFOX && existsSync(FIREFOX)
			? [{ name: 'firefox', use: { ...devices['Desktop Firefox'], launchOptions: { executablePath: FIREFOX } } }]
			: [])
	]
});
