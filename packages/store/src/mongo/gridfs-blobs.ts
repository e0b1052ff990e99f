import { GridFSBucket, type Db } from 'mongodb';
import { assertBlobName, type BlobStore } from '../blobs';

/**
 * Blobs in GridFS. A put uploads a new revision under the same filename and then drops
 * the older ones, so a reader always finds a whole revision (the newest complete one).
 */
export class GridFsBlobStore implements BlobStore {
	private readonly bucket: GridFSBucket;

	constructor(db: Db, bucketName = 'blobs') {
		this.bucket = new GridFSBucket(db, { bucketName });
	}

	async put(name: string, bytes: Uint8Array): Promise<void> {
		assertBlobName(name);
		const upload = this.bucket.openUploadStream(name);
		await new Promise<void>((resolve, reject) => {
			upload.once('finish', () => resolve());
			upload.once('error', reject);
			upload.end(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
		});
		const older = await this.bucket.find({ filename: name, _id: { $ne: upload.id } }).toArray();
		for (const file of older) await this.deleteQuietly(file._id);
	}

	async get(name: string): Promise<Uint8Array | null> {
		assertBlobName(name);
		const [newest] = await this.bucket.find({ filename: name }).sort({ uploadDate: -1, _id: -1 }).limit(1).toArray();
		if (!newest) return null;
		const chunks: Buffer[] = [];
		for await (const chunk of this.bucket.openDownloadStream(newest._id)) chunks.push(chunk as Buffer);
		const buf = Buffer.concat(chunks);
		return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
	}

	async delete(name: string): Promise<void> {
		assertBlobName(name);
		const files = await this.bucket.find({ filename: name }).toArray();
		for (const file of files) await this.deleteQuietly(file._id);
	}

	/** A concurrent delete may have won; a missing file is the outcome we wanted anyway. */
	private async deleteQuietly(id: GridFSFileId): Promise<void> {
		try {
			await this.bucket.delete(id);
		} catch (err) {
			if (!(err instanceof Error && /not found/i.test(err.message))) throw err;
		}
	}
}

type GridFSFileId = Parameters<GridFSBucket['delete']>[0];
