// Entry of a Lantern Node worker process (runtime `node`), started by the front end with the
// model directory as working directory and its socket as fd 3 (docs/protocol.md). The worker is
// written in TypeScript under src/node-worker/ and runs from its build in dist/.
import { runWorker, workerEnvironment } from '../../dist/node-worker/worker-main.js';

runWorker(workerEnvironment(process.env));
