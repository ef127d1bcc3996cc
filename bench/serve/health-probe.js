// GET /health at a fixed rate, as a readiness probe would, until bench/serve/run.js sends 'stop'; then reports the
// latencies. A process of its own so that the load generator's busy event loop does not delay its timers and
// response handling (on a small machine the cores are still shared).
//
//   fork('bench/serve/health-probe.js', ['--url', URL, '--rate', '20'])  ->  {type: 'started'}, then on 'stop'
//   {type: 'result', ...}
'use strict';

const http = require('node:http');
const { percentiles } = require('./lib');

function argument(name, fallback) {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : fallback;
}

const url = new URL('/health', argument('--url'));
const rate = Number(argument('--rate', '20'));
const timeoutMs = Number(argument('--timeout-ms', '10000'));
// A few sockets: a probe that is late must not wait for the one before it to come back (open loop).
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

const latencies = [];
const statuses = {};
let errors = 0;
let inFlight = 0;
let sent = 0;
let stopping = false;
let timer = null;
const startedAt = performance.now();
const cpuAtStart = process.cpuUsage();

function probe() {
  const issued = performance.now();
  inFlight++;
  sent++;
  const request = http.get(url, { agent, timeout: timeoutMs }, (response) => {
    response.resume();
    response.on('end', () => {
      latencies.push(performance.now() - issued);
      statuses[response.statusCode] = (statuses[response.statusCode] ?? 0) + 1;
      inFlight--;
    });
  });
  request.on('timeout', () => request.destroy(new Error('timed out')));
  request.on('error', () => {
    errors++;
    inFlight--;
  });
}

function schedule(k) {
  // Against the start time, not the previous timer: a late timer does not shift every later probe.
  const due = startedAt + (k * 1000) / rate;
  timer = setTimeout(
    () => {
      if (stopping) return;
      probe();
      schedule(k + 1);
    },
    Math.max(0, due - performance.now()),
  );
}

function finish() {
  const cpu = process.cpuUsage(cpuAtStart);
  const non200 = Object.entries(statuses)
    .filter(([status]) => status !== '200')
    .reduce((sum, [, count]) => sum + count, 0);
  process.send(
    {
      type: 'result',
      rate,
      seconds: (performance.now() - startedAt) / 1000,
      sent,
      statuses,
      non200,
      errors,
      unanswered: inFlight,
      latencyMs: percentiles(latencies),
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
    },
    () => process.exit(0),
  );
}

process.on('message', (message) => {
  if (message !== 'stop' || stopping) return;
  stopping = true;
  clearTimeout(timer);
  // Give the probes in flight their time to answer; any still out after that are reported as unanswered.
  const deadline = performance.now() + timeoutMs;
  const wait = () => (inFlight === 0 || performance.now() > deadline ? finish() : setTimeout(wait, 10));
  wait();
});
process.on('disconnect', () => process.exit(0));

schedule(0);
process.send({ type: 'started' });
