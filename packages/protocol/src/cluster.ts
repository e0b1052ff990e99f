import { z } from 'zod';
import { BinaryPayload } from './binary';
import { ErrorCode } from './errors';

/**
 * Messages between aggregator instances (Socket.IO server-side events over the Redis adapter).
 * Peers are trusted infrastructure, but a message still crosses a process boundary: each is
 * parsed with these schemas on arrival and dropped when it does not fit.
 */

/** The Socket.IO namespace that carries them; no client may connect to it. */
export const CLUSTER_NAMESPACE = '/cluster';

const Id = z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/, 'expected an id');
const Hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'expected a lowercase hex SHA-256');

/** An instance made an update of one of its devices durable (the leader counts it toward the round). */
export const PeerUpdateAccepted = z.object({
	projectId: Id,
	roundId: Id,
	deviceId: Id,
	payloadSha256: Hex64,
	numSamples: z.number().int().positive()
});
export type PeerUpdateAccepted = z.infer<typeof PeerUpdateAccepted>;

/** An instance refused a selected device's update (the round stops waiting for it). */
export const PeerUpdateRejected = z.object({ projectId: Id, roundId: Id, deviceId: Id });
export type PeerUpdateRejected = z.infer<typeof PeerUpdateRejected>;

/** What happened to a device on the instance that holds its socket, for the project's leader. */
export const PeerDeviceEvent = z.object({
	projectId: Id,
	deviceId: Id,
	kind: z.enum(['ready', 'left', 'revoked'])
});
export type PeerDeviceEvent = z.infer<typeof PeerDeviceEvent>;

/**
 * The leader asks every instance to send the round's task to those of these devices it holds:
 * each instance reads the model from the store once, instead of Redis carrying the weights once
 * per device.
 */
export const PeerRoundTasks = z.object({ projectId: Id, roundId: Id, deadline: z.string().min(1).max(40), deviceIds: z.array(Id).min(1).max(1_000_000) });
export type PeerRoundTasks = z.infer<typeof PeerRoundTasks>;

/** The leader ended a round: followers drop what they folded for it. */
export const PeerRoundEnded = z.object({ projectId: Id, roundId: Id });
export type PeerRoundEnded = z.infer<typeof PeerRoundEnded>;

/** The leader closes a round and asks every instance for what it folded. */
export const PeerPartialRequest = z.object({ projectId: Id, roundId: Id });
export type PeerPartialRequest = z.infer<typeof PeerPartialRequest>;

/** Sample-weighted sums of the participants' reported training metrics. */
export const PeerTrainSums = z.object({
	weight: z.number().finite().nonnegative(),
	lossSum: z.number().finite(),
	accuracyWeight: z.number().finite().nonnegative(),
	accuracySum: z.number().finite()
});
export type PeerTrainSums = z.infer<typeof PeerTrainSums>;

/**
 * One instance's share of a round: the devices whose updates it folded (with their payload
 * hashes), the strategy's running sums (encodePartialAggregate) and the training-metric sums.
 * `partial` is null when the strategy keeps every update, or when the instance cannot vouch for
 * its sums (an update folded whose write then failed): the leader reads the stored updates.
 */
export const PeerPartialReply = z.object({
	instance: z.string().min(1).max(200),
	roundId: Id,
	devices: z.array(z.object({ deviceId: Id, payloadSha256: Hex64 })).max(1_000_000),
	partial: BinaryPayload.nullable(),
	train: PeerTrainSums
});
export type PeerPartialReply = z.infer<typeof PeerPartialReply>;

/** A coordinator command that only the project's leader may carry out. */
export const PeerCommand = z.object({ projectId: Id, command: z.enum(['start', 'stop']) });
export type PeerCommand = z.infer<typeof PeerCommand>;

export const PeerCommandReply = z.union([
	z.object({ handled: z.literal(false) }),
	z.object({ handled: z.literal(true), error: z.object({ code: z.enum(Object.values(ErrorCode) as [ErrorCode, ...ErrorCode[]]), message: z.string().max(2_000) }).nullable() })
]);
export type PeerCommandReply = z.infer<typeof PeerCommandReply>;

/** Which of a project's devices an instance holds sockets of. */
export const PeerPresenceRequest = z.object({ projectId: Id, deviceId: Id.optional() });
export type PeerPresenceRequest = z.infer<typeof PeerPresenceRequest>;

export const PeerPresenceReply = z.object({
	/** Devices ready to train on this instance. */
	ready: z.array(Id).max(1_000_000),
	/** Whether `deviceId` of the request has a socket on this instance. */
	online: z.boolean(),
	/** The project's devices with a socket on this instance (ready or not). */
	connected: z.array(Id).max(1_000_000)
});
export type PeerPresenceReply = z.infer<typeof PeerPresenceReply>;

/** Fire-and-forget events between instances. */
export const PEER_EVENTS = {
	'update:accepted': PeerUpdateAccepted,
	'update:rejected': PeerUpdateRejected,
	'device:event': PeerDeviceEvent,
	'round:tasks': PeerRoundTasks,
	'round:ended': PeerRoundEnded
} as const;
export type PeerEventName = keyof typeof PEER_EVENTS;
export type PeerEventOf<E extends PeerEventName> = z.infer<(typeof PEER_EVENTS)[E]>;

/** Requests every other instance answers. */
export const PEER_REQUESTS = {
	'round:partial': { request: PeerPartialRequest, reply: PeerPartialReply.nullable() },
	'project:command': { request: PeerCommand, reply: PeerCommandReply },
	presence: { request: PeerPresenceRequest, reply: PeerPresenceReply }
} as const;
export type PeerRequestName = keyof typeof PEER_REQUESTS;
export type PeerRequestOf<R extends PeerRequestName> = z.infer<(typeof PEER_REQUESTS)[R]['request']>;
export type PeerReplyOf<R extends PeerRequestName> = z.infer<(typeof PEER_REQUESTS)[R]['reply']>;
