// Preloaded with NODE_OPTIONS="--require bench/cpu-profile.cjs" (Node 20 refuses --cpu-prof in
// NODE_OPTIONS): profiles this process with V8's sampling profiler and writes
// <LANTERN_BENCH_PROFILE_DIR>/<role>-<pid>.cpuprofile when it exits, so the server and the Node
// workers it starts are all profiled. Summarise with bench/profile-summary.mjs.
const inspector = require('node:inspector');
const fs = require('node:fs');
const path = require('node:path');

const dir = process.env.LANTERN_BENCH_PROFILE_DIR;
if (dir) {
  const session = new inspector.Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 100 });
  session.post('Profiler.start');
  const role = process.argv.some((a) => a.includes('lantern-worker')) ? 'worker' : 'server';
  process.on('exit', () => {
    // An in-thread session answers synchronously, so the profile is written before the process ends.
    session.post('Profiler.stop', (err, result) => {
      if (err) return;
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, `${role}-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
