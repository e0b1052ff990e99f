// Secure aggregation (SecAgg+, Bell et al. 2020, after Bonawitz et al. 2017): the pure math.
// The protocol runs on top of it in apps/server/src/rounds/secure-round.ts (server) and
// packages/participant/src/secure-aggregation.ts (device); its messages are in @qflare/protocol.
//
// Per round, each selected participant u (index 0..n-1 in the round's roster) draws three fresh
// 32-byte secrets from a CSPRNG, never reused across rounds:
//   keySeed_u     ML-KEM "mask" key pair; Shamir-shared t-of-k with its neighbours
//   selfSeed_u    self mask b_u; Shamir-shared t-of-k with its neighbours
//   channelSeed_u ML-KEM "channel" key pair for the share envelopes; never leaves the device
//
// Message flow (everything passes through the server; every message signed with ML-DSA):
//   0. Server -> all: roster, graph seed (32 bytes), k, t, fixed-point params, round context.
//      Everyone computes createNeighbourGraph(n, k, graphSeed).
//   1. u -> server -> N(u): mask and channel public keys (1184 bytes each).
//   2. For each edge {u, v} with u < v, u -> server -> v: the mask ciphertext (1088 bytes;
//      encapsulateFor / decapsulateFrom). In the same message, u -> server -> v for every
//      neighbour v: an envelope sealed to v's channel public key (ML-KEM + AES-GCM, packages/pq)
//      holding v's share of selfSeed_u and of keySeed_u (68 bytes each, encodeShare).
//   3. u -> server: maskUpdate(encodeWeighted(Δ_u, n_u)), 4·(d + 1) bytes. The server sums them.
//   4. Server -> survivors: the set U of participants whose masked update is in the sum and the
//      set D of neighbours that dropped before uploading (disjoint). Each survivor returns, for
//      each neighbour, its share of selfSeed if in U, or of keySeed if in D -- never both for one
//      participant, and it refuses if the sets are inconsistent or smaller than needed.
//   5. Server: combineShares per participant; recoverPairSeed for each edge (d in D, u in U) from
//      the relayed public key and ciphertext; unmaskSum; decodeSum.
//
// What each party knows:
//   participant u: its own three seeds and update; its pair seeds with its neighbours; shares
//     (from each neighbour) of that neighbour's selfSeed and keySeed.
//   server: all public keys and ciphertexts, all masked updates and their sum, the opened shares
//     of step 4, hence selfSeed of every u in U and keySeed of every d in D -- so the unmasked
//     sum, but for no participant both seeds, so no individual update. A coalition of the server
//     and fewer than t neighbours of u learns nothing about u's update.
//   an individual masked update is uniform in Z_{2^32} to anyone missing its self seed or one of
//     its pair seeds.

export * from './fixed-point';
export * from './mask-stream';
export * from './shamir';
export * from './neighbour-graph';
export * from './pair-secrets';
export * from './masking';
