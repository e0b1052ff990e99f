import { existsSync } from 'node:fs';
import { defineConfig, devices } from '@playwright/test';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './playwright/support/chromium';

const FIREFOX = process.env.FIREFOX_PATH ?? '';

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
			use: { ...devices['Desktop Chrome'], launchOptions: { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS } }
		},
		// Playwright drives only its own patched Firefox and WebKit builds, which cannot be
		// downloaded here; these projects run where such a build is installed and named.
		...(FIREFOX && existsSync(FIREFOX)
			? [{ name: 'firefox', use: { ...devices['Desktop Firefox'], launchOptions: { executablePath: FIREFOX } } }]
			: [])
	]
});
