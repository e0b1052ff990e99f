import { errorText } from './errors';

/**
 * One form's request to the server: `busy` while it is out, so the submit button can be disabled
 * and a double click sends once, and the error of the last try, shown next to the form that made it.
 */
export class Submission {
	busy = $state(false);
	error = $state<string | null>(null);

	/**
	 * Sends unless `refusal` says why not (a check the server would make anyway, answered without
	 * a round trip); the refusal shows like the server's own error.
	 */
	async run(event: SubmitEvent, send: () => Promise<void>, refusal: string | null = null): Promise<void> {
		event.preventDefault();
		this.error = refusal;
		if (refusal !== null) return;
		this.busy = true;
		try {
			await send();
		} catch (e) {
			this.error = errorText(e);
		} finally {
			this.busy = false;
		}
	}
}
