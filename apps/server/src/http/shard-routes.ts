import { ErrorCode, ProtocolError, ShardQuery } from '@qflare/protocol';
import express from 'express';
import { isBareToken, sameDigest, sha256Hex } from '../auth/tokens';
import type { ApiDeps } from './deps';
import { pathParam, queryParam } from './params';

/** A logged-in device's demo data shard; the device proves itself with the access token of its last login. */
export function shardRoutes({ store, shards }: ApiDeps): express.Router {
	const router = express.Router();

	router.get('/projects/:id/shard', async (req, res) => {
		const access = queryParam(req, 'access', 64);
		if (access === undefined || !isBareToken(access)) throw new ProtocolError(ErrorCode.Unauthenticated, 'log in first: the shard link carries an access token');
		const projectId = pathParam(req, 'id');
		// After the access check: a caller without a token learns nothing from a bad device id.
		const { device: deviceId } = ShardQuery.parse({ device: queryParam(req, 'device', 64), access });
		const [project, device, accessHash] = await Promise.all([
			store.projects.get(projectId),
			store.devices.get(projectId, deviceId),
			store.devices.accessTokenHash(projectId, deviceId)
		]);
		// One answer for an unknown project, an unknown device and a wrong token: none of them says which.
		if (!project || !device || accessHash === null || !sameDigest(sha256Hex(access), accessHash)) {
			throw new ProtocolError(ErrorCode.Unauthenticated, 'log in before fetching a shard');
		}
		if (device.revokedAt !== null) throw new ProtocolError(ErrorCode.DeviceRevoked, 'this device was revoked');
		if (project.dataSource !== 'demo') {
			throw new ProtocolError(ErrorCode.Conflict, `project ${project.id} trains on local data: each participant brings its own files, there are no demo shards`);
		}
		const { bytes, labelHistogram } = await shards.shard(project, device.shardIndex);
		if (JSON.stringify(device.labelHistogram) !== JSON.stringify(labelHistogram)) {
			await store.devices.update(project.id, device.id, { labelHistogram });
		}
		res.type('application/octet-stream').setHeader('Cache-Control', 'private, max-age=31536000, immutable');
		res.send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
	});

	return router;
}
