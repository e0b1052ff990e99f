/** Runs async tasks one after another per key, so round transitions of one project never interleave. */
export class SerialQueue {
	readonly #tails = new Map<string, Promise<unknown>>();

	run<T>(key: string, task: () => Promise<T>): Promise<T> {
		const tail = this.#tails.get(key) ?? Promise.resolve();
		const next = tail.then(task, task);
		const settled = next.catch(() => undefined);
		this.#tails.set(key, settled);
		void settled.then(() => {
			if (this.#tails.get(key) === settled) this.#tails.delete(key);
		});
		return next;
	}
}
