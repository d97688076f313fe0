// CreateGeneration load for credits_bench.py: constant VUs, one request in flight per VU.
//
// Same shape as deduct.js (an unreported "warmup" scenario, then "measure"): every request
// is a new generation (a fresh idempotency key) for a random pre-funded user, t2v-14B at
// 480p for 5 s, so each one writes a row, charges it through credits and submits it to
// the Replicate emulator.
//
// Inputs (k6 -e NAME=value): ADDR, TOKEN (the generation service's "api" caller token),
// USERS_FILE, RUN_ID, VUS, WARMUP_S, MEASURE_S, SUMMARY_FILE, and PROTO_DIR to load the
// .proto files instead of asking the server by reflection.
import grpc from 'k6/net/grpc';
import exec from 'k6/execution';
import { Counter } from 'k6/metrics';
import { SharedArray } from 'k6/data';

const CREATE = 'videogen.generation.v1.GenerationService/CreateGeneration';
const users = new SharedArray('users', () => JSON.parse(open(__ENV.USERS_FILE)));
const okCount = new Counter('create_ok');
const errorCount = new Counter('create_errors');
const client = new grpc.Client();
if (__ENV.PROTO_DIR) {
  client.load([__ENV.PROTO_DIR], 'videogen/generation/v1/generation.proto');
}

const vus = parseInt(__ENV.VUS, 10);
const scenarios = {
  measure: {
    executor: 'constant-vus', vus, duration: `${__ENV.MEASURE_S}s`,
    startTime: `${__ENV.WARMUP_S}s`, gracefulStop: '10s',
  },
};
if (parseInt(__ENV.WARMUP_S, 10) > 0) { // k6 refuses a 0 s scenario
  scenarios.warmup = {
    executor: 'constant-vus', vus, duration: `${__ENV.WARMUP_S}s`, gracefulStop: '0s',
  };
}
export const options = {
  scenarios,
  summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(99)', 'max'],
  // Always-true thresholds: their only job is to make k6 track the sub-metrics.
  thresholds: {
    'grpc_req_duration{scenario:measure}': ['max>=0'],
    'create_ok{scenario:measure}': ['count>=0'],
    'create_errors{scenario:measure}': ['count>=0'],
  },
};

const params = {
  metadata: { authorization: `Bearer ${__ENV.TOKEN}` },
  timeout: '20s',
};
let connected = false; // per VU: init-context globals are not shared between VUs
let errorsLogged = 0;

export default function () {
  if (!connected) {
    client.connect(__ENV.ADDR, { plaintext: true, reflect: !__ENV.PROTO_DIR, timeout: '10s' });
    connected = true;
  }
  const id = `${__ENV.RUN_ID}-${exec.vu.idInTest}-${exec.vu.iterationInInstance}`;
  const response = client.invoke(CREATE, {
    user_id: users[Math.floor(Math.random() * users.length)],
    idempotency_key: `gen-${id}`,
    model: 't2v-14B',
    resolution: '480p',
    prompt: `a red fox running through fresh snow, take ${id}`,
    duration_s: 5,
  }, params);
  if (response && response.status === grpc.StatusOK) {
    okCount.add(1);
    return;
  }
  errorCount.add(1);
  if (errorsLogged < 3) {
    errorsLogged += 1;
    console.error(`create failed: status=${response && response.status} ` +
      `error=${JSON.stringify(response && response.error)}`);
  }
}

export function handleSummary(data) {
  return { [__ENV.SUMMARY_FILE]: JSON.stringify(data) };
}
