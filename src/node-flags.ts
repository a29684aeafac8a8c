// The V8 flags hydrowatch is started with: package.json `start`, the Dockerfile and the bench use
// them (test/node-flags.test.ts keeps the three the same); README "Performance" says why.
//
// A young generation of 64 MB instead of 16: a reading's objects live until its spool group is
// synced and its acknowledgement sent (0.1–0.5 s under load), longer than a 16 MB nursery lasts at
// 10k+ readings/s. They were promoted and then freed by the old-generation collector, which costs
// far more per object. bench/: CPU per reading −13 %, highest sustained rate +13 % (Mosquitto variant).
export const NODE_FLAGS = ['--max-semi-space-size=64'] as const;
