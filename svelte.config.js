import adapter from '@sveltejs/adapter-node';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/**
 * Content Security Policy made by SvelteKit: pages rendered per request get it as a header with a
 * fresh nonce for SvelteKit's inline bootstrap script; a prerendered page would get a meta tag with
 * hashes instead ('auto'). The API's own responses carry a stricter policy set by the server.
 * @type {import('@sveltejs/kit').Config['kit']['csp']}
 */
const csp = {
	mode: 'auto',
	directives: {
		'default-src': ['self'],
		// 'wasm-unsafe-eval': the tfjs wasm backend compiles WebAssembly; nothing needs eval().
		'script-src': ['self', 'wasm-unsafe-eval'],
		// The trainer worker is a same-origin module; blob: for libraries that spawn helper workers.
		'worker-src': ['self', 'blob:'],
		// data:/blob: for image previews of a participant's own files and generated images.
		'img-src': ['self', 'data:', 'blob:'],
		// Svelte sets style attributes and transitions insert <style>; kit adds no nonce while this holds.
		'style-src': ['self', 'unsafe-inline'],
		// REST and the Socket.IO websocket are same origin ('self' covers ws/wss of this origin).
		'connect-src': ['self'],
		'font-src': ['self'],
		'manifest-src': ['self'],
		'object-src': ['none'],
		'base-uri': ['self'],
		'frame-ancestors': ['none'],
		'form-action': ['self']
	}
};

/** @type {import('@sveltejs/kit').Config} */
export default {
	preprocess: vitePreprocess(),
	kit: {
		adapter: adapter({ out: 'build' }),
		csp
	}
};
