export * from './entities';
export * from './errors';
export * from './binary';
export * from './weight-codec';
export * from './socket-events';
export * from './http';
export * from './shard-codec';
export * from './task-schema';
