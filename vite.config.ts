import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vite';

// Cross-origin isolation lets the wasm backend use threads; adapter-node serves
// /_app/immutable/* itself, so production sets these headers in apps/server instead.
const isolationHeaders = {
	'Cross-Origin-Opener-Policy': 'same-origin',
	'Cross-Origin-Embedder-Policy': 'require-corp',
	'Cross-Origin-Resource-Policy': 'same-origin'
};

export default defineConfig({
	plugins: [sveltekit()],
	server: { headers: isolationHeaders },
	preview: { headers: isolationHeaders },
	optimizeDeps: {
		include: ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-backend-webgpu', 'comlink', 'socket.io-client', 'idb']
	},
	worker: {
		format: 'es',
		// A minified worker chunk breaks the wasm backend's threaded build (FACTS.md).
		rolldownOptions: { output: { minify: false } }
	},
	test: {
		projects: [
			{
				extends: true,
				test: {
					name: 'node',
					environment: 'node',
					include: ['packages/**/*.test.ts', 'apps/**/*.test.ts', 'datasets/**/*.test.ts', 'src/**/*.test.ts', 'playwright/sim/**/*.test.ts'],
					exclude: ['**/node_modules/**', 'src/**/*.svelte.test.ts'],
					testTimeout: 60_000
				}
			}
		]
	}
});
