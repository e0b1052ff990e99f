import type * as tfjs from '@tensorflow/tfjs';

/**
 * The tfjs namespace is passed in rather than imported, so that one instance (with its
 * registered backends) is shared by the worker, the server and the headless participant.
 */
export type Tf = typeof tfjs;
export type LayersModel = tfjs.LayersModel;
export type Tensor = tfjs.Tensor;
