import type { LoginReply } from '@qflare/protocol';
import type { PreparedData } from '@qflare/data-import';
import type { DataProvider, DeviceDataset } from './ports';

/** Prepared data the user imported, by project: IndexedDB in the page, a file in the CLI's --data directory. */
export interface PreparedDataStore {
	load(projectId: string): Promise<PreparedData | null>;
}

/** Local data: what the user imported on this device; null until something was imported. */
export class LocalDataProvider implements DataProvider {
	constructor(
		private readonly store: PreparedDataStore,
		private readonly origin = 'imported data loaded from this device'
	) {}

	async load(login: LoginReply): Promise<DeviceDataset | null> {
		const data = await this.store.load(login.project.id);
		if (!data) return null;
		return { task: data.task, train: data.train, holdOut: data.holdOut, stats: data.stats, origin: this.origin };
	}
}

/** Picks the demo or the local provider by the project's data source; a missing one means "no data here". */
export class ProjectDataProvider implements DataProvider {
	constructor(private readonly providers: { demo?: DataProvider; local?: DataProvider }) {}

	async load(login: LoginReply, note: (message: string) => void): Promise<DeviceDataset | null> {
		const provider = login.project.dataSource === 'local' ? this.providers.local : this.providers.demo;
		return provider ? provider.load(login, note) : null;
	}
}
