// The ringstore command line. `ringstore up` (what `npm start` runs) starts a local cluster.
console.error("ringstore: the runtime (storage nodes, routers, the local cluster launcher) is not built yet — see the open issues.");
process.exit(1);
